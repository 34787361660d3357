using Shears.Tensors;

namespace Shears.Nn;

/// <summary>
/// A training loss scored chunk by chunk (<see cref="Sequential.TrainingStep"/>): each row of its gradient depends
/// only on the same row of logits and on the batch size, and the batch's loss is summed row by row in batch order,
/// so scoring a batch in chunks gives the same bits as scoring it whole.
/// </summary>
public abstract class ChunkedLoss
{
    /// <summary>
    /// The gradient with respect to <paramref name="logits"/>, the chunk's rows of logits (owned by the loss, valid
    /// until the next call), adding their losses to the batch's running sum; the first chunk of a batch starts the sum.
    /// </summary>
    public abstract Tensor Rows(Tensor logits, BatchChunk chunk);

    /// <summary>The batch's mean loss, once every chunk is scored.</summary>
    public abstract double Mean { get; }
}
