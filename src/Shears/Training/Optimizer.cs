using Shears.Nn;

namespace Shears.Training;

public enum OptimizerKind { Adam, Sgd }

/// <summary>
/// Updates parameters from their gradients. State (momentum, Adam moments) lives here, keyed by parameter.
/// Masks are respected in one place: gradients of pruned entries are zeroed before the update and values
/// re-masked after it, or, once few entries are kept, only the kept ones are updated; either way pruned
/// connections stay exactly zero and their state never grows.
/// </summary>
public abstract class Optimizer
{
    protected Optimizer(IReadOnlyList<Parameter> parameters, float learningRate, float weightDecay, int stateBuffersPerParameter)
    {
        if (!(learningRate > 0) || float.IsInfinity(learningRate)) throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "The learning rate must be a positive number.");
        if (!(weightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "Weight decay must be zero or positive.");
        Parameters = parameters;
        LearningRate = learningRate;
        WeightDecay = weightDecay;
        State = parameters.Select(p => Enumerable.Range(0, stateBuffersPerParameter).Select(_ => new float[p.Count]).ToArray()).ToArray();
    }

    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>The rate for the next step; a schedule sets it before each step.</summary>
    public float LearningRate { get; set; }

    public float WeightDecay { get; }

    /// <summary>Steps taken so far (Adam's bias correction depends on it).</summary>
    public long StepCount { get; set; }

    /// <summary>Per parameter, its state buffers (same order as <see cref="Parameters"/>); checkpoints save and restore them.</summary>
    public float[][][] State { get; }

    public void Step()
    {
        StepCount++;
        for (int i = 0; i < Parameters.Count; i++)
        {
            var p = Parameters[i];
            if (p.KeptIndices is { } kept && kept.Length <= p.Count / SparseStepRatio)
            {
                UpdateKept(p, State[i], kept);
                continue;
            }
            p.ApplyMask(p.Gradient.Span);
            Update(p, State[i]);
            p.ApplyMask();
        }
    }

    /// <summary>
    /// A parameter that keeps at most 1 in this many entries is updated entry by entry over the kept ones only (see
    /// <see cref="UpdateKept"/>); denser ones in vectors over all entries, with the pruned ones masked before and after.
    /// </summary>
    internal const int SparseStepRatio = 4;

    /// <summary>
    /// The width <see cref="Update"/>'s vector loop runs at: entries before the last whole vector take its arithmetic,
    /// the rest the scalar tail's. <see cref="UpdateKept"/> repeats whichever an entry would get, so the two paths agree
    /// to the bit.
    /// </summary>
    protected static int VectorEnd(int count) => count - count % System.Numerics.Vector<float>.Count;

    /// <summary>Clears the state of pruned entries; call after masks change so no stale momentum survives.</summary>
    public void ApplyMasks()
    {
        for (int i = 0; i < Parameters.Count; i++)
            foreach (var buffer in State[i]) Parameters[i].ApplyMask(buffer);
    }

    protected abstract void Update(Parameter parameter, float[][] state);

    /// <summary>
    /// <see cref="Update"/> for the entries at <paramref name="kept"/> alone, each with the same arithmetic and so the
    /// same bits: a pruned entry's value and state are zero (its mask zeroed the value, and <see cref="ApplyMasks"/> the
    /// state, when it was pruned), and with its gradient masked the full update leaves them zero, so skipping it changes
    /// nothing. FCN-2 at 2.5% kept updates 6,700 of its 266,200 weights a step instead of passing over all of them
    /// three times.
    /// </summary>
    protected abstract void UpdateKept(Parameter parameter, float[][] state, int[] kept);

    public static Optimizer Create(OptimizerKind kind, IReadOnlyList<Parameter> parameters, float learningRate, float weightDecay, float momentum = 0.9f) => kind switch
    {
        OptimizerKind.Adam => new Adam(parameters, learningRate, weightDecay),
        OptimizerKind.Sgd => new Sgd(parameters, learningRate, weightDecay, momentum),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
