namespace Shears.Data;

/// <summary>The train and test parts of a dataset, as published (split a validation set off <see cref="Train"/> with <see cref="Dataset.SplitLast"/>).</summary>
public sealed class DatasetSplits
{
    public DatasetSplits(Dataset train, Dataset test)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(test);
        Train = train;
        Test = test;
    }

    public Dataset Train { get; }

    public Dataset Test { get; }
}
