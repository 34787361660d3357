using System.Numerics;
using Shears.Nn;

namespace Shears.Training;

/// <summary>SGD with (heavy-ball) momentum and L2 weight decay: v = μv + g + λw; w -= ηv.</summary>
public sealed class Sgd : Optimizer
{
    public Sgd(IReadOnlyList<Parameter> parameters, float learningRate, float weightDecay = 0f, float momentum = 0.9f)
        : base(parameters, learningRate, weightDecay, stateBuffersPerParameter: 1)
    {
        if (!(momentum >= 0 && momentum < 1)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "Momentum must be in [0, 1).");
        Momentum = momentum;
    }

    public float Momentum { get; }

    protected override void Update(Parameter parameter, float[][] state)
    {
        var w = parameter.Value.Span;
        var g = parameter.Gradient.Span;
        var v = state[0].AsSpan();
        float mu = Momentum, lr = LearningRate, wd = WeightDecay;
        int i = 0, n = w.Length, width = Vector<float>.Count;
        for (; i <= n - width; i += width)
        {
            var wi = new Vector<float>(w.Slice(i));
            var vi = new Vector<float>(v.Slice(i)) * mu + new Vector<float>(g.Slice(i)) + wi * wd;
            vi.CopyTo(v.Slice(i));
            (wi - vi * lr).CopyTo(w.Slice(i));
        }
        for (; i < n; i++)
        {
            v[i] = mu * v[i] + g[i] + wd * w[i];
            w[i] -= lr * v[i];
        }
    }

    protected override void UpdateKept(Parameter parameter, float[][] state, int[] kept)
    {
        var w = parameter.Value.Span;
        var g = parameter.Gradient.Span;
        var v = state[0];
        float mu = Momentum, lr = LearningRate, wd = WeightDecay;
        int vectorEnd = VectorEnd(w.Length);
        foreach (int i in kept)
        {
            // The vector loop's order of operations, lane by lane, then the scalar tail's (the same here).
            float vi = i < vectorEnd ? v[i] * mu + g[i] + w[i] * wd : mu * v[i] + g[i] + wd * w[i];
            v[i] = vi;
            w[i] = i < vectorEnd ? w[i] - vi * lr : w[i] - lr * vi;
        }
    }
}
