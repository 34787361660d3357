namespace Shears.Nn;

/// <summary>
/// Rows [<see cref="Start"/>, <see cref="Start"/> + <see cref="Count"/>) of a training batch of <see cref="Batch"/>
/// rows, run forward and backward on their own (<see cref="Sequential.TrainingStep"/>).
/// </summary>
public readonly record struct BatchChunk(int Start, int Count, int Batch)
{
    /// <summary>The whole batch as one chunk.</summary>
    public static BatchChunk Whole(int batch) => new(0, batch, batch);

    public bool IsFirst => Start == 0;

    public bool IsLast => Start + Count == Batch;
}
