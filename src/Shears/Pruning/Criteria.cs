using Shears.Data;
using Shears.Nn;

namespace Shears.Pruning;

/// <summary>A prunable weight of a model and the layer that owns it (whose input its second axis reads).</summary>
public sealed record PrunableWeight(Layer Layer, Parameter Weight)
{
    public string Name => Weight.Name;

    /// <summary>The prunable weights in model order.</summary>
    public static IReadOnlyList<PrunableWeight> Of(Sequential model) =>
        model.Layers.SelectMany(l => l.Parameters.Where(p => p.Prunable).Select(p => new PrunableWeight(l, p))).ToArray();
}

/// <summary>
/// Scores every connection of every prunable weight; higher matters more. Thresholds are on scores. A criterion
/// may measure the network first (<see cref="Score"/> runs once per round), so it sees the current masks.
/// </summary>
public interface ICriterion
{
    CriterionKind Kind { get; }

    /// <summary>One score array per weight of <paramref name="weights"/>, same layout as the weight.</summary>
    IReadOnlyList<float[]> Score(Sequential model, IReadOnlyList<PrunableWeight> weights, Dataset validation, CancellationToken ct = default);
}

public static class Criteria
{
    public static ICriterion Create(CriterionKind kind, int batchSize = 1000) => kind switch
    {
        CriterionKind.Magnitude => new MagnitudeCriterion(),
        CriterionKind.ActivationAware => new ActivationAwareCriterion(batchSize),
        // Not the evaluation batch size: the Fisher needs small batches, whose gradients stand in for per-image ones.
        CriterionKind.Fisher => new FisherCriterion(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown criterion."),
    };
}

/// <summary>|w|: the paper's criterion.</summary>
public sealed class MagnitudeCriterion : ICriterion
{
    public CriterionKind Kind => CriterionKind.Magnitude;

    public IReadOnlyList<float[]> Score(Sequential model, IReadOnlyList<PrunableWeight> weights, Dataset validation, CancellationToken ct = default) =>
        weights.Select(w =>
        {
            var scores = new float[w.Weight.Count];
            System.Numerics.Tensors.TensorPrimitives.Abs(w.Weight.Value.ReadOnlySpan, scores);
            return scores;
        }).ToArray();
}

/// <summary>
/// |w| × rms(x), the root mean square of the weight's input over the validation inputs: input feature j for a
/// Linear weight [out, in], input channel c (over positions too) for a convolution weight [out, in, k, k]. A
/// weight reading an input that is always zero (MNIST's border pixels) scores 0 and goes first, however large it is.
/// <para>
/// Why the root mean square: zeroing w_ij changes output i by −w_ij·x_j, so the squared error it adds, averaged
/// over the data, is w_ij²·E[x_j²] (Optimal Brain Damage's diagonal saliency with the input's share of the
/// Hessian); |w|·rms(x) ranks the same. Measured on FCN-1 at the 0.90 floor: 5.4% of the connections kept
/// against 6.3% with |w|·mean|x|, and 0.7 points more test accuracy.
/// </para>
/// </summary>
public sealed class ActivationAwareCriterion(int batchSize = 1000) : ICriterion
{
    public CriterionKind Kind => CriterionKind.ActivationAware;

    public IReadOnlyList<float[]> Score(Sequential model, IReadOnlyList<PrunableWeight> weights, Dataset validation, CancellationToken ct = default)
    {
        var scales = InputRms(model, weights, validation, batchSize, ct);
        return weights.Select((w, i) => Scores(w.Weight, scales[i])).ToArray();
    }

    /// <summary>|w| × the scale (rms) of the input feature on axis 1 of the weight.</summary>
    public static float[] Scores(Parameter weight, ReadOnlySpan<double> inputScales)
    {
        var shape = weight.Value.Shape;
        if (shape.Length < 2 || shape[1] != inputScales.Length)
            throw new ArgumentException($"Weight '{weight.Name}' {weight.Value} reads {(shape.Length < 2 ? "no" : shape[1].ToString())} input features but {inputScales.Length} scales were given.");
        int outputs = shape[0], inputs = shape[1], inner = weight.Count / (outputs * inputs);
        var w = weight.Value.ReadOnlySpan;
        var scores = new float[w.Length];
        int k = 0;
        for (int o = 0; o < outputs; o++)
            for (int i = 0; i < inputs; i++)
            {
                float a = (float)inputScales[i];
                for (int r = 0; r < inner; r++, k++) scores[k] = MathF.Abs(w[k]) * a;
            }
        return scores;
    }

    /// <summary>
    /// For each weight, the root mean square of each feature (axis 1) of its layer's input over
    /// <paramref name="data"/>, over samples and any spatial positions. One inference pass, layer by layer.
    /// </summary>
    public static double[][] InputRms(Sequential model, IReadOnlyList<PrunableWeight> weights, Dataset data, int batchSize = 1000, CancellationToken ct = default)
    {
        var byLayer = new Dictionary<Layer, List<int>>();
        for (int i = 0; i < weights.Count; i++)
        {
            if (!byLayer.TryGetValue(weights[i].Layer, out var list)) byLayer[weights[i].Layer] = list = [];
            list.Add(i);
        }
        var sums = new double[]?[weights.Count];
        var positions = new long[weights.Count];
        foreach (var batch in data.InOrder(batchSize, model.InputShape, ct))
        {
            var x = batch.Images;
            foreach (var layer in model.Layers)
            {
                if (byLayer.TryGetValue(layer, out var owned))
                    foreach (int w in owned) Accumulate(weights[w].Weight, x, ref sums[w], ref positions[w]);
                x = layer.Forward(x, training: false);
            }
        }
        var rms = new double[weights.Count][];
        for (int w = 0; w < weights.Count; w++)
        {
            int features = weights[w].Weight.Value.Dim(1);
            var s = sums[w] ?? new double[features];
            rms[w] = s.Select(v => positions[w] == 0 ? 0 : Math.Sqrt(v / positions[w])).ToArray();
        }
        return rms;
    }

    private static void Accumulate(Parameter weight, Tensor input, ref double[]? sums, ref long positions)
    {
        int features = weight.Value.Dim(1);
        if (input.Rank < 2 || input.Dim(1) != features)
            throw new ArgumentException($"Weight '{weight.Name}' reads {features} input features but its layer's input is {input}.");
        sums ??= new double[features];
        int batch = input.Dim(0), inner = input.Length / Math.Max(1, batch * features);
        var x = input.ReadOnlySpan;
        int k = 0;
        for (int b = 0; b < batch; b++)
            for (int f = 0; f < features; f++)
            {
                double s = 0;
                for (int r = 0; r < inner; r++, k++) s += (double)x[k] * x[k];
                sums[f] += s;
            }
        positions += (long)batch * inner;
    }
}

/// <summary>
/// w² × F, F the weight's empirical Fisher information over the validation set: the sum, over mini-batches of
/// <see cref="BatchSize"/> images, of the squared gradient of the batch's summed loss, divided by the images.
/// <para>
/// Why: zeroing w raises the loss by about ½·w²·H (Optimal Brain Damage), and near a minimum the Fisher estimates
/// the Hessian's diagonal H. Unlike <see cref="ActivationAwareCriterion"/>, which sees only the input's share of H,
/// it also weighs how much the output a weight feeds still errs: a weight into a class the network already gets
/// right costs little to remove. Gradients of small batches stand in for per-image ones: their squares sum to the
/// per-image Fisher (times the batch size) plus the squared mean gradient, which is near zero at a minimum.
/// Labels are used, so the score depends on the validation labels the range is checked on anyway.
/// </para>
/// </summary>
public sealed class FisherCriterion(int batchSize = 32) : ICriterion
{
    public CriterionKind Kind => CriterionKind.Fisher;
    public int BatchSize { get; } = batchSize > 0 ? batchSize : throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be positive.");

    public IReadOnlyList<float[]> Score(Sequential model, IReadOnlyList<PrunableWeight> weights, Dataset validation, CancellationToken ct = default)
    {
        var fisher = weights.Select(w => new double[w.Weight.Count]).ToArray();
        var loss = new SoftmaxCrossEntropy();
        foreach (var batch in validation.InOrder(BatchSize, model.InputShape, ct))
        {
            var logits = model.Forward(batch.Images, training: true);
            var (_, gradient) = loss.Compute(logits, batch.Labels.AsSpan(0, batch.Count));
            model.Backward(gradient);
            // The loss gradient is of the batch's mean; the Fisher wants its sum, so each square is scaled by n².
            double scale = (double)batch.Count * batch.Count;
            for (int l = 0; l < weights.Count; l++)
            {
                var g = weights[l].Weight.Gradient.ReadOnlySpan;
                var f = fisher[l];
                for (int i = 0; i < f.Length; i++) f[i] += scale * ((double)g[i] * g[i]);
            }
        }
        return weights.Select((w, l) =>
        {
            var v = w.Weight.Value.ReadOnlySpan;
            var f = fisher[l];
            var scores = new float[f.Length];
            for (int i = 0; i < f.Length; i++) scores[i] = (float)((double)v[i] * v[i] * f[i] / validation.Count);
            return scores;
        }).ToArray();
    }
}
