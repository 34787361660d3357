using System.Numerics.Tensors;
using Shears.Tensors;

namespace Shears.Nn;

/// <summary>Fully connected layer, y = x·Wᵀ + b, with W stored [out, in] as PyTorch and ONNX Gemm(transB=1) do.</summary>
public sealed class Linear : Layer
{
    private Tensor? _input;
    private Tensor? _output;
    private Tensor? _inputGradient;
    /// <summary>A chunked batch's inputs and output gradients, gathered whole for the weight gradient (see <see cref="FinishChunks"/>).</summary>
    private Tensor? _batchInput, _batchOutputGradient;
    /// <summary>The rows of a chunked batch whose weight gradient <see cref="FinishChunks"/> has yet to write (0: none).</summary>
    private int _pendingBatch;

    public Linear(string name, int inputs, int outputs) : base(name)
    {
        if (inputs <= 0 || outputs <= 0) throw new ArgumentOutOfRangeException(nameof(inputs), $"Linear '{name}' needs positive sizes, got {inputs}→{outputs}.");
        Inputs = inputs;
        Outputs = outputs;
        Weight = new Parameter(name + ".weight", new Tensor(outputs, inputs), prunable: true);
        Bias = new Parameter(name + ".bias", new Tensor(outputs), prunable: false);
    }

    public int Inputs { get; }
    public int Outputs { get; }

    public override Layer? Blank() => new Linear(Name, Inputs, Outputs);

    internal override bool Chunkable => true;

    public Parameter Weight { get; }
    public Parameter Bias { get; }
    public override IReadOnlyList<Parameter> Parameters => [Weight, Bias];

    public override int[] OutputShape(ReadOnlySpan<int> inputShape)
    {
        if (inputShape.Length != 1 || inputShape[0] != Inputs) throw BadInput($"[{Inputs}]", inputShape);
        return [Outputs];
    }

    public override Tensor Forward(Tensor input, bool training)
    {
        if (input.Rank != 2 || input.Dim(1) != Inputs) throw BadInput($"[batch, {Inputs}]", input.Shape);
        int batch = input.Dim(0);
        var y = Tensor.Reuse(ref _output, batch, Outputs);
        Functional(input.ReadOnlySpan, Weight.Value.ReadOnlySpan, Bias.Value.ReadOnlySpan, batch, Inputs, Outputs, y.Span);
        _input = training ? input : null;
        return y;
    }

    /// <summary>y[batch×out] = x[batch×in]·Wᵀ + b; a pruned W goes to <see cref="SparseLinear"/> where that pays (<see cref="SparseLinear.Pays"/>).</summary>
    public static void Functional(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, int batch, int inputs, int outputs, Span<float> y)
    {
        if (SparseLinear.Pays(inputs, outputs, Density.CountNonzero(w[..(inputs * outputs)]), gradient: false))
        {
            SparseLinear.Forward(x, w, b, batch, inputs, outputs, y);
            return;
        }
        Gemm.Multiply(Transpose.No, Transpose.Yes, batch, outputs, inputs, x, inputs, w, inputs, y, outputs);
        for (int r = 0; r < batch; r++)
        {
            var row = y.Slice(r * outputs, outputs);
            TensorPrimitives.Add(row, b, row);
        }
    }

    public override Tensor? Backward(Tensor outputGradient, bool needInputGradient)
    {
        var x = _input ?? throw BackwardWithoutForward();
        ParameterGradients(x.ReadOnlySpan, outputGradient.ReadOnlySpan, x.Dim(0));
        return needInputGradient ? InputGradient(outputGradient, x.Dim(0)) : null;
    }

    /// <summary>
    /// One chunk of a batch: its input gradient now, and its inputs and output gradients kept, so that
    /// <see cref="FinishChunks"/> writes the weight gradient from the whole batch at once. dW = dYᵀ·X sums over the
    /// batch inside one GEMM, so summing chunk by chunk would round differently; the rows of dX do not depend on
    /// each other.
    /// </summary>
    internal override Tensor? Backward(Tensor outputGradient, bool needInputGradient, BatchChunk chunk)
    {
        if (chunk.Count == chunk.Batch) return Backward(outputGradient, needInputGradient);
        var x = _input ?? throw BackwardWithoutForward();
        var inputs = Tensor.Reuse(ref _batchInput, chunk.Batch, Inputs);
        var gradients = Tensor.Reuse(ref _batchOutputGradient, chunk.Batch, Outputs);
        x.ReadOnlySpan.CopyTo(inputs.Span.Slice(chunk.Start * Inputs, chunk.Count * Inputs));
        outputGradient.ReadOnlySpan.CopyTo(gradients.Span.Slice(chunk.Start * Outputs, chunk.Count * Outputs));
        if (chunk.IsLast) _pendingBatch = chunk.Batch;
        return needInputGradient ? InputGradient(outputGradient, chunk.Count) : null;
    }

    internal override void FinishChunks()
    {
        if (_pendingBatch == 0) return;
        ParameterGradients(_batchInput!.ReadOnlySpan, _batchOutputGradient!.ReadOnlySpan, _pendingBatch);
        _pendingBatch = 0;
    }

    private void ParameterGradients(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, int batch)
    {
        // dW[out×in] = dYᵀ·X, only where the mask keeps a connection once it keeps few
        if (Weight.Mask is { } mask && SparseLinear.Pays(Inputs, Outputs, Density.CountNonzero(mask.ReadOnlySpan), gradient: true))
            SparseLinear.WeightGradient(dy, x, mask.ReadOnlySpan, batch, Inputs, Outputs, Weight.Gradient.Span);
        else
            Gemm.Multiply(Transpose.Yes, Transpose.No, Outputs, Inputs, batch, dy, Outputs, x, Inputs, Weight.Gradient.Span, Inputs);
        // db = column sums of dY
        var db = Bias.Gradient.Span;
        db.Clear();
        for (int r = 0; r < batch; r++) TensorPrimitives.Add(db, dy.Slice(r * Outputs, Outputs), db);
    }

    /// <summary>dX[batch×in] = dY·W.</summary>
    private Tensor InputGradient(Tensor outputGradient, int batch)
    {
        var dy = outputGradient.ReadOnlySpan;
        var dx = Tensor.Reuse(ref _inputGradient, batch, Inputs);
        if (SparseLinear.Pays(Inputs, Outputs, Density.CountNonzero(Weight.Value.ReadOnlySpan), gradient: true))
            SparseLinear.InputGradient(dy, Weight.Value.ReadOnlySpan, batch, Inputs, Outputs, dx.Span);
        else
            Gemm.Multiply(Transpose.No, Transpose.No, batch, Inputs, Outputs, dy, Outputs, Weight.Value.ReadOnlySpan, Inputs, dx.Span, Inputs);
        return dx;
    }
}
