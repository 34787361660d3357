using Shears.Nn;

namespace Shears.Training;

public enum OptimizerKind { Adam, Sgd }

/// <summary>
/// Updates parameters from their gradients. State (momentum, Adam moments) lives here, keyed by parameter.
/// Masks are respected in one place: gradients of pruned entries are zeroed before the update and values
/// re-masked after it, so pruned connections stay exactly zero and their state never grows.
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
            p.ApplyMask(p.Gradient.Span);
            Update(p, State[i]);
            p.ApplyMask();
        }
    }

    /// <summary>Clears the state of pruned entries; call after masks change so no stale momentum survives.</summary>
    public void ApplyMasks()
    {
        for (int i = 0; i < Parameters.Count; i++)
            foreach (var buffer in State[i]) Parameters[i].ApplyMask(buffer);
    }

    protected abstract void Update(Parameter parameter, float[][] state);

    public static Optimizer Create(OptimizerKind kind, IReadOnlyList<Parameter> parameters, float learningRate, float weightDecay, float momentum = 0.9f) => kind switch
    {
        OptimizerKind.Adam => new Adam(parameters, learningRate, weightDecay),
        OptimizerKind.Sgd => new Sgd(parameters, learningRate, weightDecay, momentum),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
