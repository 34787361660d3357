using Shears.Models;
using Shears.Nn;
using Shears.Pruning;
using SkiaSharp;

namespace Shears.Tests.Reports;

/// <summary>A folder under the system temp folder, deleted on dispose.</summary>
internal sealed class ReportTempFolder : IDisposable
{
    public ReportTempFolder() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "shears-reports-" + Guid.NewGuid().ToString("N"));

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

internal static class ReportTestSupport
{
    /// <summary>A zoo model with every weight set to a seeded value in [-0.1, 0.1].</summary>
    public static Sequential Model(string name, int seed = 1)
    {
        var model = ModelZoo.Create(name, [1, 28, 28], 10, seed);
        var random = new Random(seed);
        foreach (var p in model.Parameters)
        {
            var span = p.Value.Span;
            for (int i = 0; i < span.Length; i++) span[i] = (float)(random.NextDouble() * 0.2 - 0.1);
        }
        return model;
    }

    /// <summary>A copy of <paramref name="dense"/>'s values with the mask <paramref name="keep"/> gives each prunable weight (by flat index).</summary>
    public static Sequential Pruned(string name, Sequential dense, Func<int, bool> keep)
    {
        var pruned = Model(name);
        for (int i = 0; i < dense.Parameters.Count; i++)
        {
            dense.Parameters[i].Value.ReadOnlySpan.CopyTo(pruned.Parameters[i].Value.Span);
            var p = pruned.Parameters[i];
            if (!p.Prunable) continue;
            var mask = new Tensor(p.Value.Shape.ToArray());
            var m = mask.Span;
            for (int j = 0; j < m.Length; j++) m[j] = keep(j) ? 1f : 0f;
            p.SetMask(mask);
        }
        return pruned;
    }

    public static SKBitmap Decode(string path) =>
        SKBitmap.Decode(path) ?? throw new InvalidDataException($"'{path}' does not decode as an image.");

    public static bool IsPng(string path)
    {
        var head = new byte[8];
        using var s = System.IO.File.OpenRead(path);
        return s.Read(head, 0, 8) == 8 && head.AsSpan().SequenceEqual(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A });
    }

    /// <summary>An FCN-2 sized report with two rounds and sensitivity curves; <paramref name="finalValidation"/> decides the verdict against the 0.97 floor.</summary>
    public static PruningReport Report(double finalValidation = 0.975) => new()
    {
        Model = "fcn2",
        ConnectionsTotal = 266_200,
        ConnectionsKept = 21_000,
        Range = new RangeReport(0.97, 1.0, 0.95, 0.01, "validation accuracy at least 95.00% and at most 1 percentage points below the original (the stricter wins)"),
        Original = new AccuracyPair(0.98, 0.979),
        AfterPruning = new AccuracyPair(0.96, 0.958),
        Pruned = new AccuracyPair(finalValidation, 0.968),
        Seconds = 42.5,
        Allocation = AllocationKind.Sensitivity,
        Criterion = CriterionKind.Magnitude,
        RelearnEpochs = 2,
        StepBacks = 1,
        Layers =
        [
            new LayerReport("fc1.weight", 235_200, 15_000, 0.004, 0.0731),
            new LayerReport("fc2.weight", 30_000, 5_000, 0.003, 0.05),
            new LayerReport("fc3.weight", 1_000, 1_000, null, 0),
        ],
        Rounds =
        [
            new RoundReport(1, 266_200, 30_000, 0.98, 0.96, 0.978, RoundOutcome.Accepted, 0.01, 0.01, 0.02, 0, 20),
            new RoundReport(2, 30_000, 21_000, 0.978, 0.95, 0.965, RoundOutcome.SteppedBack, 0.008, 0.004, 0.028, 1, 15),
        ],
        ValidationSplit = "random:5000:1",
        Sensitivity = new Dictionary<string, IReadOnlyList<SensitivityPoint>>
        {
            ["fc1.weight"] = [new(0, 235_200, 0.98), new(0.5, 117_600, 0.979), new(0.9, 23_520, 0.97), new(0.99, 2_352, 0.6)],
            ["fc2.weight"] = [new(0, 30_000, 0.98), new(0.5, 15_000, 0.98), new(0.9, 3_000, 0.975), new(0.99, 300, 0.8)],
            ["fc3.weight"] = [new(0, 1_000, 0.98), new(0.5, 500, 0.96), new(0.9, 100, 0.5)],
        },
    };
}
