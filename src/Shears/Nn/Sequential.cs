using Shears.Tensors;

namespace Shears.Nn;

/// <summary>
/// The one model type: a chain of layers with a per-sample input shape. Training, pruning, export and the
/// sparse inference form all start from it.
/// </summary>
public sealed class Sequential
{
    private readonly Layer[] _layers;
    private readonly Layer[] _runOrder;
    private readonly Parameter[] _parameters;
    /// <summary>
    /// The first stage with parameters (0 when none has any): backward stops there and asks it for no input gradient,
    /// since nothing before it has a gradient to take. FCN-2's first layer after its flatten would otherwise compute
    /// a 128 × 784 input gradient every step (as many multiply-adds as its weight gradient) for the flatten to pass back.
    /// </summary>
    private readonly int _firstTrained;
    /// <summary>Whether training batches may run in chunks: every layer <see cref="Layer.Chunkable"/>, and a convolution among them.</summary>
    private readonly bool _chunkable;
    private int _trainingChunkSize;
    private Tensor? _chunkInput;

    public Sequential(string name, int[] inputShape, params Layer[] layers)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (layers.Length == 0) throw new ArgumentException($"Model '{name}' has no layers.");
        Name = name;
        InputShape = (int[])inputShape.Clone();
        _layers = layers;
        // Validate the chain once, so a shape mistake surfaces at construction with the layer's name.
        ReadOnlySpan<int> shape = InputShape;
        foreach (var layer in layers) shape = layer.OutputShape(shape);
        OutputShape = shape.ToArray();
        _runOrder = RunOrder(layers, InputShape);
        _firstTrained = Math.Max(0, Array.FindIndex(_runOrder, l => l.Parameters.Count > 0));
        InferenceBatchSize = CacheFittingBatch(InputShape, _runOrder, ActivationBudgetBytes);
        _chunkable = layers.All(l => l.Chunkable) && layers.Any(l => l is Conv2d);
        _trainingChunkSize = _chunkable ? CacheFittingBatch(InputShape, _runOrder, TrainingChunkBudgetBytes) : 0;
        _parameters = layers.SelectMany(l => l.Parameters).ToArray();
        var duplicate = _parameters.GroupBy(p => p.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"Model '{name}' has two parameters named '{duplicate.Key}'.");
        var layerDuplicate = layers.GroupBy(l => l.Name).FirstOrDefault(g => g.Count() > 1);
        if (layerDuplicate is not null) throw new ArgumentException($"Model '{name}' has two layers named '{layerDuplicate.Key}'.");
    }

    public string Name { get; }

    /// <summary>Per-sample input shape, e.g. [1, 28, 28].</summary>
    public int[] InputShape { get; }

    /// <summary>Per-sample output shape, e.g. [10].</summary>
    public int[] OutputShape { get; }

    public int ClassCount => OutputShape[^1];

    public IReadOnlyList<Layer> Layers => _layers;

    /// <summary>
    /// The most samples an inference pass should hold: as many as keep the largest layer's input and output (as the
    /// layers run) within <see cref="ActivationBudgetBytes"/>, in whole convolution groups (at least one). Each
    /// sample's outputs do not depend on which others share its pass, so this is purely a speed choice: CNN-3's first
    /// convolution writes 100 KB per image, so a 1,000-image pass streams 100 MB through memory where a pass of 32
    /// stays in cache (<c>Shears.Benchmarks --eval</c>: 15 ms per 1,000 pruned-CNN-3 images against 25).
    /// </summary>
    public int InferenceBatchSize { get; }

    /// <summary>The samples an inference pass over many holds: <paramref name="requested"/>, at most <see cref="InferenceBatchSize"/>.</summary>
    public int InferencePassSize(int requested) => Math.Min(requested, InferenceBatchSize);

    /// <summary>Activation bytes an inference pass aims to keep its largest layer within: about the L2 caches of a few cores.</summary>
    public const long ActivationBudgetBytes = 4L << 20;

    /// <summary>
    /// The samples per kernel thread (<see cref="KernelThreads.Current"/>) in each chunk in which
    /// <see cref="TrainingStep"/> runs a batch: forward, loss and backward for one chunk, then the next, so that what
    /// each layer writes is still in cache when the next layer reads it, in both directions (CNN-3's first
    /// convolution writes 100 KB per image: a whole batch of 128 sends 13 MB through memory at every step). Outputs,
    /// the loss and every gradient are the same, to the bit, whatever the size: convolutions sum weight gradients
    /// over groups of <see cref="Convolution.GroupSize"/> images in order and a chunk holds whole groups, fully
    /// connected layers gather the batch for theirs, and every other row is computed on its own. So this is purely
    /// a speed choice. The default holds the largest layer's input and output within
    /// <see cref="TrainingChunkBudgetBytes"/> (CNN-3: 16); a model without convolutions runs whole (0).
    /// </summary>
    public int TrainingChunkSize
    {
        get => _trainingChunkSize;
        set
        {
            if (value < 0 || value % Convolution.GroupSize != 0)
                throw new ArgumentOutOfRangeException(nameof(value), value, $"A training chunk holds whole groups of {Convolution.GroupSize} samples (0: no chunks).");
            _trainingChunkSize = _chunkable ? value : 0;
        }
    }

    /// <summary>Activation bytes a training chunk aims to keep its largest layer's input and output within, per kernel thread: about one core's L2.</summary>
    public const long TrainingChunkBudgetBytes = 2L << 20;

    /// <summary>
    /// One training step's forward, loss and backward over the batch [batch, ...InputShape]: writes every parameter's
    /// gradient and returns the batch's mean loss. Runs in chunks of <see cref="TrainingChunkSize"/> where the
    /// model allows, with the same bits as <see cref="Forward"/>, the loss over the whole batch and <see cref="Backward"/>.
    /// </summary>
    public double TrainingStep(Tensor input, ChunkedLoss loss)
    {
        CheckInput(input);
        int batch = input.Dim(0), length = TrainingChunkLength(batch);
        int start = 0;
        do   // an empty batch is one empty chunk, as a whole-batch step would run it
        {
            var chunk = new BatchChunk(start, Math.Min(length, batch - start), batch);
            var g = loss.Rows(ForwardThrough(0, _runOrder.Length, TrainingChunkInput(input, chunk), training: true), chunk);
            for (int i = _runOrder.Length - 1; i >= _firstTrained; i--)
                g = _runOrder[i].Backward(g, needInputGradient: i > _firstTrained, chunk)!;
            start += length;
        } while (start < batch);
        foreach (var layer in _runOrder) layer.FinishChunks();
        return loss.Mean;
    }

    /// <summary>The samples each chunk of a training step over <paramref name="batch"/> holds: <see cref="TrainingChunkSize"/> per kernel thread, or the whole batch.</summary>
    internal int TrainingChunkLength(int batch)
    {
        int length = _trainingChunkSize * KernelThreads.Current;
        return length == 0 || length >= batch ? Math.Max(batch, 1) : length;
    }

    /// <summary>What enters the first layer for <paramref name="chunk"/> of <paramref name="input"/>: the batch itself when the chunk is all of it, else a copy of its samples (this model's scratch, valid until the next chunk).</summary>
    internal Tensor TrainingChunkInput(Tensor input, BatchChunk chunk)
    {
        if (chunk.Count == chunk.Batch) return input;
        int sample = input.Length / chunk.Batch;
        var x = Tensor.Reuse(ref _chunkInput, [chunk.Count, .. InputShape]);
        input.ReadOnlySpan.Slice(chunk.Start * sample, chunk.Count * sample).CopyTo(x.Span);
        return x;
    }

    /// <summary>The layers in the order Forward runs them (see <see cref="RunOrder"/>); Backward runs them in reverse.</summary>
    internal IReadOnlyList<Layer> ExecutionOrder => _runOrder;

    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>The weights whose entries are connections a pruner may remove.</summary>
    public IEnumerable<Parameter> PrunableParameters => _parameters.Where(p => p.Prunable);

    public Parameter GetParameter(string name) =>
        _parameters.FirstOrDefault(p => p.Name == name) ?? throw new KeyNotFoundException($"Model '{Name}' has no parameter '{name}'.");

    /// <summary>Runs the batch [batch, ...InputShape] through every layer; the result is owned by the last layer.</summary>
    public Tensor Forward(Tensor input, bool training)
    {
        CheckInput(input);
        return ForwardThrough(0, _runOrder.Length, input, training);
    }

    private void CheckInput(Tensor input)
    {
        if (input.Rank != InputShape.Length + 1 || !input.Shape[1..].SequenceEqual(InputShape))
            throw new ArgumentException($"Model '{Name}' expects input [batch, {string.Join(", ", InputShape)}] but got {input}.");
    }

    /// <summary>
    /// Runs a batch of what enters layer <paramref name="first"/> of <see cref="ExecutionOrder"/> through it and every
    /// layer after it: the same outputs as <see cref="Forward"/> on the inputs that produced that batch.
    /// </summary>
    internal Tensor ForwardFrom(int first, Tensor input, bool training)
    {
        if ((uint)first >= (uint)_runOrder.Length) throw new ArgumentOutOfRangeException(nameof(first), first, $"Model '{Name}' runs {_runOrder.Length} layers.");
        return ForwardThrough(first, _runOrder.Length, input, training);
    }

    /// <summary>Runs a batch through layers <paramref name="first"/> up to, not including, <paramref name="end"/> of <see cref="ExecutionOrder"/>; the result is owned by the last of them (the input itself when there are none).</summary>
    internal Tensor ForwardThrough(int first, int end, Tensor input, bool training)
    {
        var x = input;
        for (int i = first; i < end; i++) x = _runOrder[i].Forward(x, training);
        return x;
    }

    /// <summary>The per-sample shape that enters layer <paramref name="index"/> of <see cref="ExecutionOrder"/>.</summary>
    internal int[] ShapeEntering(int index)
    {
        ReadOnlySpan<int> shape = InputShape;
        for (int i = 0; i < index; i++) shape = _runOrder[i].OutputShape(shape);
        return shape.ToArray();
    }

    /// <summary>Back-propagates the loss gradient through every layer, writing every parameter's gradient.</summary>
    public void Backward(Tensor outputGradient)
    {
        var g = outputGradient;
        for (int i = _runOrder.Length - 1; i >= _firstTrained; i--)
            g = _runOrder[i].Backward(g, needInputGradient: i > _firstTrained)!;
    }

    /// <summary>
    /// The stages the layers run as: in the declared order, except that a ReLU directly followed by a max-pool runs
    /// after it, and a first convolution followed by a 2×2 max-pool runs with it as one <see cref="ConvMaxPool"/>.
    /// ReLU and max-pool commute exactly (max(relu(a), relu(b)) = relu(max(a, b)), and in both orders a window's
    /// gradient reaches its first maximum when that is positive and nothing otherwise), and pooling first leaves ReLU
    /// a quarter of the values to touch in each direction. The convolution and the pool together never write the
    /// convolution's full-size output or its gradient: CNN-3's first convolution writes 100 KB per image, 12.8 MB per
    /// batch of 128, which the pool reads and its backward writes again. Only the first convolution fuses, since the
    /// fused stage gives no gradient with respect to its input. What runs is the declared network; only the
    /// per-stage outputs in between differ.
    /// </summary>
    private static Layer[] RunOrder(Layer[] layers, int[] inputShape)
    {
        var order = (Layer[])layers.Clone();
        for (int i = 0; i + 1 < order.Length; i++)
        {
            if (order[i] is Relu && order[i + 1] is MaxPool2d)
            {
                (order[i], order[i + 1]) = (order[i + 1], order[i]);
                i++;
            }
        }
        if (order.Length >= 2 && ConvMaxPool.TryFuse(order[0], order[1], inputShape) is { } fused)
            return [fused, .. order[2..]];
        return order;
    }

    private static int CacheFittingBatch(int[] inputShape, Layer[] layers, long budgetBytes)
    {
        long largest = 0;
        ReadOnlySpan<int> shape = inputShape;
        foreach (var layer in layers)
        {
            var output = layer.OutputShape(shape);
            largest = Math.Max(largest, (long)Tensor.Product(shape) + Tensor.Product(output));
            shape = output;
        }
        long fitting = budgetBytes / (sizeof(float) * Math.Max(1, largest));
        int group = Convolution.GroupSize;
        return (int)Math.Clamp(fitting / group * group, group, int.MaxValue);
    }

    /// <summary>
    /// Multiply-adds per sample in the weighted layers (convolutions and fully connected ones), as if dense: what one
    /// sample costs, to weigh models against each other (CNN-3 about 3.9 million, FCN-2 266,200).
    /// </summary>
    public long MultiplyAddsPerSample()
    {
        long total = 0;
        ReadOnlySpan<int> shape = InputShape;
        foreach (var layer in _layers)
        {
            var output = layer.OutputShape(shape);
            total += layer switch
            {
                Conv2d conv => (long)conv.Weight.Count * output[^1] * output[^2],
                Linear linear => linear.Weight.Count,
                _ => 0,
            };
            shape = output;
        }
        return total;
    }

    /// <summary>Total connections (entries of prunable weights) and how many are kept.</summary>
    public (long Total, long Kept) Connections()
    {
        long total = 0, kept = 0;
        foreach (var p in PrunableParameters) { total += p.Count; kept += p.KeptCount; }
        return (total, kept);
    }

    /// <summary>
    /// An independent model with the same layers, parameter values and masks (what a search that runs beside
    /// another on the same network works on), or null when a layer cannot make a blank of itself.
    /// </summary>
    public Sequential? TryCopy()
    {
        var layers = _layers.Select(l => l.Blank()).ToArray();
        if (layers.Any(l => l is null)) return null;
        var copy = new Sequential(Name, InputShape, layers!);
        Snapshot().Restore(copy);
        return copy;
    }

    /// <summary>
    /// This model and <paramref name="count"/> − 1 independent copies of it (<see cref="TryCopy"/>): one for each of
    /// as many jobs side by side. Null when a layer cannot make a blank of itself.
    /// </summary>
    public Sequential[]? TryCopies(int count)
    {
        var models = new Sequential[Math.Max(0, count)];
        for (int i = 0; i < models.Length; i++)
        {
            var model = i == 0 ? this : TryCopy();
            if (model is null) return null;
            models[i] = model;
        }
        return models;
    }

    /// <summary>A copy of every parameter's value and mask, to restore later (checkpoints, pruning step-back).</summary>
    public ModelState Snapshot() => ModelState.Capture(this);
}
