using System.CommandLine;
using Shears.Data;
using Shears.Onnx;

namespace Shears.Cli;

/// <summary>
/// The options that choose the validation split (`--validation`, `--validation-split`, `--split-seed`), shared by
/// `train` and `prune`. Each option left out falls back to a given split: the default for `train`, and for
/// `prune` the split recorded in the model, so pruning validates on the images training held out.
/// </summary>
internal sealed class SplitOptions
{
    public Option<int?> Count { get; } = new("--validation")
    {
        Description = $"Training images held out for validation (default {ValidationSplit.DefaultCount:N0}, or the model's recorded split).",
    };

    public Option<string?> Kind { get; } = new("--validation-split")
    {
        Description = "last: the last images of the training set (default); random: drawn at random by --split-seed. prune defaults to the split recorded in the model.",
    };

    public Option<int?> Seed { get; } = new("--split-seed") { Description = "Seed of a random validation split (default 1)." };

    public SplitOptions() => Kind.AcceptOnlyFromAmong("last", "random");

    public IEnumerable<Option> All => [Count, Kind, Seed];

    public ValidationSplit Resolve(ParseResult parse, ValidationSplit fallback)
    {
        var kind = parse.GetValue(Kind) switch
        {
            "last" => ValidationSplitKind.Last,
            "random" => ValidationSplitKind.Random,
            _ => fallback.Kind,
        };
        int count = parse.GetValue(Count) ?? fallback.Count;
        if (count < 0) throw new ArgumentException($"--validation must be zero or more, not {count}.");
        return new ValidationSplit(kind, count, parse.GetValue(Seed) ?? fallback.Seed);
    }

    /// <summary>The split a model file records, or the default for files without one (made by other tools).</summary>
    public static ValidationSplit RecordedIn(string modelPath) =>
        OnnxImporter.ReadMetadata(modelPath).TryGetValue(ValidationSplit.MetadataKey, out string? text)
            ? ValidationSplit.Parse(text, modelPath)
            : ValidationSplit.Default;

    /// <summary>Export options that record <paramref name="split"/> in the model (and store pruned weights sparse when asked).</summary>
    public static OnnxExportOptions Recording(ValidationSplit split, bool sparseMaskedWeights = false) =>
        new() { Metadata = new Dictionary<string, string> { [ValidationSplit.MetadataKey] = split.ToString() }, SparseMaskedWeights = sparseMaskedWeights };
}
