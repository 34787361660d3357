using System.Numerics;
using Shears.Nn;

namespace Shears.Training;

/// <summary>Adam with decoupled weight decay (AdamW when weight decay is non-zero).</summary>
public sealed class Adam : Optimizer
{
    public Adam(IReadOnlyList<Parameter> parameters, float learningRate, float weightDecay = 0f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f)
        : base(parameters, learningRate, weightDecay, stateBuffersPerParameter: 2)
    {
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
    }

    public float Beta1 { get; }
    public float Beta2 { get; }
    public float Epsilon { get; }

    /// <summary>Bias corrections folded into the step size and epsilon, as the Adam paper's efficient form does.</summary>
    private (float Step, float EpsHat, float Decay) Factors()
    {
        double c1 = 1 - Math.Pow(Beta1, StepCount), c2 = 1 - Math.Pow(Beta2, StepCount);
        return ((float)(LearningRate * Math.Sqrt(c2) / c1), (float)(Epsilon * Math.Sqrt(c2)), 1f - LearningRate * WeightDecay);
    }

    protected override void Update(Parameter parameter, float[][] state)
    {
        var w = parameter.Value.Span;
        var g = parameter.Gradient.Span;
        var m = state[0].AsSpan();
        var v = state[1].AsSpan();
        float b1 = Beta1, b2 = Beta2;
        var (step, epsHat, decay) = Factors();
        int i = 0, n = w.Length, width = Vector<float>.Count;
        for (; i <= n - width; i += width)
        {
            var gi = new Vector<float>(g.Slice(i));
            var mi = new Vector<float>(m.Slice(i)) * b1 + gi * (1 - b1);
            var vi = new Vector<float>(v.Slice(i)) * b2 + gi * gi * (1 - b2);
            mi.CopyTo(m.Slice(i));
            vi.CopyTo(v.Slice(i));
            var wi = new Vector<float>(w.Slice(i)) * decay - mi * step / (Vector.SquareRoot(vi) + new Vector<float>(epsHat));
            wi.CopyTo(w.Slice(i));
        }
        for (; i < n; i++)
        {
            m[i] = b1 * m[i] + (1 - b1) * g[i];
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
            w[i] = w[i] * decay - step * m[i] / (MathF.Sqrt(v[i]) + epsHat);
        }
    }

    protected override void UpdateKept(Parameter parameter, float[][] state, int[] kept)
    {
        var w = parameter.Value.Span;
        var g = parameter.Gradient.Span;
        var m = state[0];
        var v = state[1];
        float b1 = Beta1, b2 = Beta2;
        var (step, epsHat, decay) = Factors();
        int vectorEnd = VectorEnd(w.Length);
        foreach (int i in kept)
        {
            float gi = g[i];
            if (i < vectorEnd)
            {
                // The vector loop's order of operations, lane by lane.
                float mi = m[i] * b1 + gi * (1 - b1), vi = v[i] * b2 + gi * gi * (1 - b2);
                m[i] = mi;
                v[i] = vi;
                w[i] = w[i] * decay - mi * step / (MathF.Sqrt(vi) + epsHat);
            }
            else
            {
                m[i] = b1 * m[i] + (1 - b1) * gi;
                v[i] = b2 * v[i] + (1 - b2) * gi * gi;
                w[i] = w[i] * decay - step * m[i] / (MathF.Sqrt(v[i]) + epsHat);
            }
        }
    }
}
