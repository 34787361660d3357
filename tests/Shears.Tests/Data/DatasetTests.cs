using Shears.Data;

namespace Shears.Tests.Data;

public sealed class DatasetTests
{
    /// <summary>Sample i has every float equal to i + 0.5 (so a copy is easy to recognise) and label i mod classes.</summary>
    private static Dataset Numbered(int count, int[] shape, int classes = 4, int? classCount = null)
    {
        int length = shape.Aggregate(1, (a, b) => a * b);
        var images = new float[count * length];
        for (int i = 0; i < count; i++) images.AsSpan(i * length, length).Fill(i + 0.5f);
        var labels = Enumerable.Range(0, count).Select(i => i % classes).ToArray();
        return new Dataset("numbered", images, labels, shape, classCount);
    }

    [Fact]
    public void In_order_batches_cover_every_sample_once_with_a_short_last_batch()
    {
        var data = Numbered(23, [1, 2, 3]);
        var seen = new List<int>();
        foreach (var (start, count, images, labels) in data.InOrder(10, [1, 2, 3]))
        {
            Assert.Equal([count, 1, 2, 3], images.Shape.ToArray());
            for (int i = 0; i < count; i++)
            {
                Assert.All(images.ReadOnlySpan.Slice(i * 6, 6).ToArray(), v => Assert.Equal(start + i + 0.5f, v));
                Assert.Equal((start + i) % 4, labels[i]);
                seen.Add(start + i);
            }
        }
        Assert.Equal(Enumerable.Range(0, 23), seen);
        Assert.Empty(new Dataset("empty", [], [], [1, 2, 3]).InOrder(10, [1, 2, 3]));
    }

    [Fact]
    public void Shape_length_count_and_class_count_describe_the_data()
    {
        var d = Numbered(7, [1, 3, 2]);
        Assert.Equal("numbered", d.Name);
        Assert.Equal(7, d.Count);
        Assert.Equal([1, 3, 2], d.SampleShape);
        Assert.Equal(6, d.SampleLength);
        Assert.Equal(4, d.ClassCount);
        Assert.Equal(42, d.Images.Length);
        Assert.Equal(3.5f, d.Sample(3)[5]);
    }

    [Fact]
    public void Class_count_is_the_largest_label_plus_one_unless_given()
    {
        Assert.Equal(4, Numbered(10, [2], classes: 4).ClassCount);
        Assert.Equal(10, Numbered(10, [2], classes: 4, classCount: 10).ClassCount);
        Assert.Equal(0, new Dataset("empty", [], [], [1, 2, 2]).ClassCount);
    }

    [Fact]
    public void A_label_at_or_above_the_class_count_is_rejected()
    {
        var e = Assert.Throws<ArgumentException>(() => new Dataset("d", new float[6], [0, 5, 1], [2], classCount: 5));
        Assert.Contains("Label 5 at index 1", e.Message);
        Assert.Contains("0..4", e.Message);
        Assert.Throws<ArgumentException>(() => new Dataset("d", new float[2], [-1], [2]));
    }

    [Fact]
    public void Images_must_hold_one_sample_per_label()
    {
        var e = Assert.Throws<ArgumentException>(() => new Dataset("d", new float[7], [0, 1], [1, 2, 2]));
        Assert.Contains("7 floats", e.Message);
        Assert.Contains("need 8", e.Message);
        Assert.Throws<ArgumentException>(() => new Dataset("d", [], [], [1, 0, 2]));
    }

    [Fact]
    public void The_sample_shape_returned_is_a_copy()
    {
        var d = Numbered(2, [1, 2, 2]);
        d.SampleShape[0] = 99;
        Assert.Equal([1, 2, 2], d.SampleShape);
    }

    [Fact]
    public void SplitLast_takes_the_last_samples_for_validation()
    {
        var d = Numbered(10, [1, 2, 2]);
        var (train, validation) = d.SplitLast(3);

        Assert.Equal(7, train.Count);
        Assert.Equal(3, validation.Count);
        Assert.Equal("numbered/train", train.Name);
        Assert.Equal("numbered/validation", validation.Name);
        Assert.Equal(d.Images.AsSpan(0, 7 * 4).ToArray(), train.Images);
        Assert.Equal(d.Images.AsSpan(7 * 4).ToArray(), validation.Images);
        Assert.Equal([3, 0, 1], validation.Labels);
        Assert.Equal(d.ClassCount, validation.ClassCount);
        Assert.Equal(d.SampleShape, validation.SampleShape);
    }

    [Fact]
    public void SplitLast_allows_an_empty_validation_set_but_not_an_empty_training_set()
    {
        var d = Numbered(5, [3]);
        var (train, validation) = d.SplitLast(0);
        Assert.Equal(5, train.Count);
        Assert.Equal(0, validation.Count);
        Assert.Equal(4, validation.ClassCount);

        Assert.Throws<ArgumentOutOfRangeException>(() => d.SplitLast(5));
        Assert.Throws<ArgumentOutOfRangeException>(() => d.SplitLast(-1));
    }

    [Fact]
    public void SplitRandom_partitions_the_samples_and_depends_only_on_the_seed()
    {
        var d = Numbered(50, [1, 2, 2], classes: 5);
        var (train, validation) = d.SplitRandom(12, seed: 7);

        // Sample i is recognisable by its value i + 0.5: read back which samples each part holds.
        int[] Ids(Dataset part) => Enumerable.Range(0, part.Count).Select(i => (int)part.Sample(i)[0]).ToArray();
        int[] trainIds = Ids(train), validationIds = Ids(validation);
        Assert.Equal(38, trainIds.Length);
        Assert.Equal(12, validationIds.Length);
        Assert.Equal(Enumerable.Range(0, 50), trainIds.Concat(validationIds).Order());
        Assert.Equal(trainIds.Order(), trainIds);            // each part keeps the dataset's order
        Assert.Equal(validationIds.Order(), validationIds);
        Assert.NotEqual(Enumerable.Range(38, 12), validationIds); // not the last samples
        for (int i = 0; i < validation.Count; i++)
            Assert.Equal(validationIds[i] % 5, validation.Labels[i]);
        Assert.Equal(d.ClassCount, validation.ClassCount);

        Assert.Equal(validationIds, Ids(d.SplitRandom(12, seed: 7).Validation));
        Assert.Subset(validationIds.ToHashSet(), Ids(d.SplitRandom(5, seed: 7).Validation).ToHashSet());
        Assert.NotEqual(validationIds, Ids(d.SplitRandom(12, seed: 8).Validation));
        Assert.NotEqual(d.SplitRandom(12, 7).Train.Name, d.SplitRandom(12, 8).Train.Name);
        Assert.Throws<ArgumentOutOfRangeException>(() => d.SplitRandom(50, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => d.SplitRandom(-1, 1));
    }

    [Fact]
    public void A_validation_split_round_trips_through_its_text_form()
    {
        var random = new ValidationSplit(ValidationSplitKind.Random, 5000, -3);
        Assert.Equal("random:5000:-3", random.ToString());
        Assert.Equal(random, ValidationSplit.Parse(random.ToString(), "m.onnx"));
        Assert.Equal(ValidationSplit.Default, ValidationSplit.Parse("last:5000", "m.onnx"));

        var d = Numbered(20, [2]);
        Assert.Equal(d.SplitLast(4).Validation.Images, ValidationSplit.Parse("last:4", "m").Apply(d).Validation.Images);
        Assert.Equal(d.SplitRandom(4, 9).Validation.Images, ValidationSplit.Parse("random:4:9", "m").Apply(d).Validation.Images);

        foreach (string bad in new[] { "", "last", "last:x", "last:-1", "random:5", "random:5:x", "first:5", "last:5:1" })
        {
            var e = Assert.Throws<DataFormatException>(() => ValidationSplit.Parse(bad, "model.onnx"));
            Assert.Contains("model.onnx", e.Message);
        }
    }

    [Fact]
    public void Slice_and_Take_copy_the_chosen_samples()
    {
        var d = Numbered(10, [2], classes: 3);
        var slice = d.Slice(4, 3);
        Assert.Equal([4.5f, 4.5f, 5.5f, 5.5f, 6.5f, 6.5f], slice.Images);
        Assert.Equal([1, 2, 0], slice.Labels);
        Assert.Equal(3, slice.ClassCount);

        slice.Images[0] = -1;
        Assert.Equal(4.5f, d.Images[8]); // a copy, not a view

        var first = d.Take(2);
        Assert.Equal([0.5f, 0.5f, 1.5f, 1.5f], first.Images);
        Assert.Equal([0, 1], first.Labels);
        Assert.Equal(0, d.Take(0).Count);
        Assert.Equal(0, d.Slice(10, 0).Count);
    }

    [Theory]
    [InlineData(-1, 1)]
    [InlineData(11, 0)]
    [InlineData(8, 3)]
    [InlineData(0, -1)]
    public void Slice_rejects_ranges_outside_the_dataset(int start, int count)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Numbered(10, [2]).Slice(start, count));
    }

    [Fact]
    public void Take_rejects_more_than_the_dataset_holds()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Numbered(3, [2]).Take(4));
    }

    [Fact]
    public void CopyBatch_gathers_the_samples_and_labels_at_the_indices()
    {
        var d = Numbered(9, [1, 1, 3], classes: 5);
        var images = new float[4 * 3 + 5]; // a longer workspace: only the front is written
        images.AsSpan().Fill(-7);
        var labels = new int[4];

        d.CopyBatch([8, 0, 3, 8], images, labels);

        Assert.Equal([8.5f, 8.5f, 8.5f, 0.5f, 0.5f, 0.5f, 3.5f, 3.5f, 3.5f, 8.5f, 8.5f, 8.5f], images[..12]);
        Assert.All(images[12..], v => Assert.Equal(-7, v));
        Assert.Equal([3, 0, 3, 3], labels);
    }

    [Fact]
    public void CopyBatch_does_not_allocate()
    {
        var d = Numbered(64, [1, 4, 4]);
        int[] indices = [5, 1, 63, 0, 17];
        var images = new float[indices.Length * d.SampleLength];
        var labels = new int[indices.Length];
        d.CopyBatch(indices, images, labels); // warm up

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++) d.CopyBatch(indices, images, labels);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void CopyBatch_rejects_bad_indices_and_short_destinations()
    {
        var d = Numbered(4, [2]);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => d.CopyBatch([0, 4], new float[4], new int[2]));
        Assert.Contains("Index 4 at position 1", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => d.CopyBatch([-1], new float[2], new int[1]));
        var shortImages = Assert.Throws<ArgumentException>(() => d.CopyBatch([0, 1], new float[3], new int[2]));
        Assert.Contains("holds 3", shortImages.Message);
        Assert.Contains("4 are needed", shortImages.Message);
        Assert.Throws<ArgumentException>(() => d.CopyBatch([0, 1], new float[4], new int[1]));
    }
}
