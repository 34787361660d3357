using System.Diagnostics.CodeAnalysis;

namespace Shears.Data;

/// <summary>
/// An image-classification dataset held in memory: <see cref="Count"/> samples of <see cref="SampleLength"/>
/// floats each (shape <see cref="SampleShape"/>, [channels, height, width]) stored one after another in
/// <see cref="Images"/>, and one label per sample in <see cref="Labels"/>, each in [0, <see cref="ClassCount"/>).
/// <para>
/// A dataset owns its arrays. <see cref="Slice"/>, <see cref="Take"/>, <see cref="SplitLast"/> and <see cref="SplitRandom"/> return
/// <b>copies</b>, so the parts are independent datasets that stay valid whatever happens to this one (the cost is
/// one copy of the part, paid once; batches are gathered with <see cref="CopyBatch"/> without allocating).
/// </para>
/// </summary>
public sealed class Dataset
{
    private readonly int[] _sampleShape;

    /// <summary>
    /// Wraps <paramref name="images"/> and <paramref name="labels"/> without copying; the dataset takes them over.
    /// <paramref name="classCount"/> defaults to the largest label + 1 (0 when there are no samples).
    /// </summary>
    public Dataset(string name, float[] images, int[] labels, int[] sampleShape, int? classCount = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(sampleShape);
        if (sampleShape.Length == 0)
            throw new ArgumentException("The sample shape needs at least one dimension.", nameof(sampleShape));
        long sampleLength = 1;
        foreach (int d in sampleShape)
        {
            if (d <= 0)
                throw new ArgumentException($"Sample shape [{string.Join(", ", sampleShape)}] has a dimension below 1.", nameof(sampleShape));
            sampleLength *= d;
            if (sampleLength > Array.MaxLength)
                throw new ArgumentException($"Sample shape [{string.Join(", ", sampleShape)}] is too large.", nameof(sampleShape));
        }
        if (images.LongLength != labels.LongLength * sampleLength)
            throw new ArgumentException(
                $"Images hold {images.Length} floats but {labels.Length} labels × {sampleLength} floats per sample need {labels.LongLength * sampleLength}.", nameof(images));

        int maxLabel = -1;
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] < 0)
                throw new ArgumentException($"Label {labels[i]} at index {i} is negative.", nameof(labels));
            maxLabel = Math.Max(maxLabel, labels[i]);
        }
        int classes = classCount ?? maxLabel + 1;
        if (classes < 0)
            throw new ArgumentOutOfRangeException(nameof(classCount), classes, "The class count must not be negative.");
        if (maxLabel >= classes)
            throw new ArgumentException(
                $"Label {maxLabel} at index {Array.IndexOf(labels, maxLabel)} is outside the class range 0..{classes - 1}.", nameof(labels));

        Name = name;
        Images = images;
        Labels = labels;
        _sampleShape = (int[])sampleShape.Clone();
        SampleLength = (int)sampleLength;
        ClassCount = classes;
    }

    // Trusted path for parts of an already validated dataset.
    private Dataset(string name, float[] images, int[] labels, int[] sampleShape, int sampleLength, int classCount)
    {
        Name = name;
        Images = images;
        Labels = labels;
        _sampleShape = sampleShape;
        SampleLength = sampleLength;
        ClassCount = classCount;
    }

    public string Name { get; }

    /// <summary>Count × SampleLength floats, sample after sample; pixel values are byte/255, in [0, 1].</summary>
    public float[] Images { get; }

    /// <summary>One label per sample, each in [0, ClassCount).</summary>
    public int[] Labels { get; }

    public int Count => Labels.Length;

    /// <summary>The shape of one sample, [channels, height, width] for images (a copy; change it freely).</summary>
    public int[] SampleShape => (int[])_sampleShape.Clone();

    /// <summary>Floats per sample: the product of <see cref="SampleShape"/>.</summary>
    public int SampleLength { get; }

    public int ClassCount { get; }

    /// <summary>The floats of sample <paramref name="index"/>, a view into <see cref="Images"/>.</summary>
    public ReadOnlySpan<float> Sample(int index)
    {
        if ((uint)index >= (uint)Count)
            ThrowIndex(nameof(index), index, -1);
        return Images.AsSpan(index * SampleLength, SampleLength);
    }

    /// <summary>A copy of samples [<paramref name="start"/>, <paramref name="start"/> + <paramref name="count"/>), with the same name and class count.</summary>
    public Dataset Slice(int start, int count)
    {
        if (start < 0 || start > Count)
            throw new ArgumentOutOfRangeException(nameof(start), start, $"Start must be in 0..{Count} for a dataset of {Count} samples.");
        if (count < 0 || count > Count - start)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"Count must be in 0..{Count - start} when starting at {start} of {Count} samples.");
        return Part(Name, start, count);
    }

    /// <summary>A copy of the first <paramref name="count"/> samples (for quick runs and tests).</summary>
    public Dataset Take(int count)
    {
        if (count < 0 || count > Count)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"Count must be in 0..{Count} for a dataset of {Count} samples.");
        return Part(Name, 0, count);
    }

    /// <summary>
    /// Splits off the last <paramref name="validationCount"/> samples as a validation set (0 ≤ count &lt; Count,
    /// so the training part is never empty). Both parts are copies named "name/train" and "name/validation" and
    /// keep this dataset's class count.
    /// </summary>
    public (Dataset Train, Dataset Validation) SplitLast(int validationCount)
    {
        if (validationCount < 0 || validationCount >= Count)
            throw new ArgumentOutOfRangeException(nameof(validationCount), validationCount,
                $"The validation count must be at least 0 and below the {Count} samples of '{Name}'.");
        int trainCount = Count - validationCount;
        return (Part($"{Name}/train", 0, trainCount), Part($"{Name}/validation", trainCount, validationCount));
    }

    /// <summary>
    /// Splits off <paramref name="validationCount"/> samples drawn at random by <paramref name="seed"/> as a
    /// validation set; the rest is the training part. Both parts keep the dataset's order. The draw depends only
    /// on the seed and the count of samples, so a split can be rebuilt exactly from those two numbers, and with the
    /// same seed a smaller validation count draws a subset of a larger one's validation samples (a model validated on
    /// fewer images than it held out is still validated on unseen ones).
    /// </summary>
    public (Dataset Train, Dataset Validation) SplitRandom(int validationCount, int seed)
    {
        if (validationCount < 0 || validationCount >= Count)
            throw new ArgumentOutOfRangeException(nameof(validationCount), validationCount,
                $"The validation count must be at least 0 and below the {Count} samples of '{Name}'.");
        var order = new int[Count];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        // System.Random with a seed is a fixed algorithm (it does not change between runs or processes).
        new Random(unchecked(seed * 1_000_003 + 101)).Shuffle(order);
        int[] validation = order[..validationCount];
        int[] train = order[validationCount..];
        Array.Sort(validation);
        Array.Sort(train);
        // The seed is in the names so that anything keyed by them (a checkpoint's fingerprint) tells splits apart.
        return (Gather($"{Name}/train-random{seed}", train), Gather($"{Name}/validation-random{seed}", validation));
    }

    /// <summary>
    /// Gathers the samples at <paramref name="indices"/> into <paramref name="images"/> (indices.Length ×
    /// SampleLength floats, sample after sample) and their labels into <paramref name="labels"/>. Destinations
    /// may be longer than needed (a reused workspace); only the first entries are written. Never allocates.
    /// </summary>
    public void CopyBatch(ReadOnlySpan<int> indices, Span<float> images, Span<int> labels)
    {
        int n = indices.Length;
        int length = SampleLength;
        if (images.Length < (long)n * length)
            ThrowTooShort(nameof(images), images.Length, (long)n * length);
        if (labels.Length < n)
            ThrowTooShort(nameof(labels), labels.Length, n);

        ReadOnlySpan<float> source = Images;
        ReadOnlySpan<int> sourceLabels = Labels;
        for (int i = 0; i < n; i++)
        {
            int index = indices[i];
            if ((uint)index >= (uint)sourceLabels.Length)
                ThrowIndex(nameof(indices), index, i);
            source.Slice(index * length, length).CopyTo(images.Slice(i * length, length));
            labels[i] = sourceLabels[index];
        }
    }

    /// <summary>
    /// The samples in order, in batches of at most <paramref name="batchSize"/>, as tensors of shape
    /// [count, ..<paramref name="sampleShape"/>] (inference over a whole dataset). The batch's buffers are reused by
    /// the next one: use each before moving on.
    /// </summary>
    public IEnumerable<Batch> InOrder(int batchSize, int[] sampleShape, CancellationToken ct = default)
    {
        int n = Math.Max(1, Math.Min(batchSize, Count));
        var shape = new int[sampleShape.Length + 1];
        sampleShape.CopyTo(shape, 1);
        Tensor? images = null;
        var labels = new int[n];
        var indices = new int[n];
        for (int start = 0; start < Count; start += n)
        {
            ct.ThrowIfCancellationRequested();
            int count = Math.Min(n, Count - start);
            for (int i = 0; i < count; i++) indices[i] = start + i;
            shape[0] = count;
            var x = Tensor.Reuse(ref images, shape);
            CopyBatch(indices.AsSpan(0, count), x.Span, labels.AsSpan(0, count));
            yield return new Batch(start, count, x, labels);
        }
    }

    public override string ToString() =>
        $"{Name}: {Count} samples of [{string.Join(", ", _sampleShape)}], {ClassCount} classes";

    private Dataset Part(string name, int start, int count) =>
        new(name,
            Images.AsSpan(start * SampleLength, count * SampleLength).ToArray(),
            Labels.AsSpan(start, count).ToArray(),
            _sampleShape,
            SampleLength,
            ClassCount);

    /// <summary>A copy of the samples at <paramref name="indices"/>, in that order (an index may repeat), named <paramref name="name"/>.</summary>
    internal Dataset Gather(string name, int[] indices)
    {
        var images = new float[indices.Length * SampleLength];
        var labels = new int[indices.Length];
        CopyBatch(indices, images, labels);
        return new(name, images, labels, _sampleShape, SampleLength, ClassCount);
    }

    [DoesNotReturn]
    private static void ThrowTooShort(string name, int have, long need) =>
        throw new ArgumentException($"Span '{name}' holds {have} elements but {need} are needed.", name);

    [DoesNotReturn]
    private void ThrowIndex(string name, int index, int position) =>
        throw new ArgumentOutOfRangeException(name, index,
            position < 0
                ? $"Index {index} is outside the {Count} samples of '{Name}'."
                : $"Index {index} at position {position} is outside the {Count} samples of '{Name}'.");
}

/// <summary>Consecutive samples from <see cref="Start"/>: their images and the first <see cref="Count"/> entries of <see cref="Labels"/>.</summary>
public readonly record struct Batch(int Start, int Count, Tensor Images, int[] Labels);
