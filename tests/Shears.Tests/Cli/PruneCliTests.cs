using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Shears.Data;
using Shears.Nn;
using Shears.Onnx;
using Shears.Tests.TestSupport;

namespace Shears.Tests.Cli;

public sealed class PruneCliTests : IDisposable
{
    private readonly DataTempFolder _temp = new();
    private readonly string _data;
    private readonly string _model;

    public PruneCliTests()
    {
        _data = CliData.Bands(_temp.Folder("data"), train: 300);
        _model = _temp.Sub("dense.onnx");
        var run = CliRunner.Invoke("train", "--model", "fcn2", "--epochs", "4", "--batch-size", "16", "--validation", "60",
            "--dataset", _data, "--data-dir", _data, "--out", _model);
        Assert.True(run.ExitCode == 0, run.Error);
    }

    public void Dispose() => _temp.Dispose();

    private CliRunner.Run Prune(params string[] extra) =>
        CliRunner.Invoke(["prune", _model, "--dataset", _data, "--data-dir", _data, "--validation", "60", "--relearn-epochs", "1", "--rounds", "2", .. extra]);

    /// <summary>A run within a 5-point drop with <paramref name="extra"/> options: its report.json and report.md.</summary>
    private (JsonDocument Json, string Markdown) PruneWithReport(string name, params string[] extra)
    {
        string report = _temp.Sub(name);
        var run = Prune(["--max-drop", "5", "--out", _temp.Sub(name + ".onnx"), "--report", report, .. extra]);
        Assert.True(run.ExitCode == 0, run.Error + run.Output);
        return (JsonDocument.Parse(File.ReadAllText(Path.Combine(report, "report.json"))), File.ReadAllText(Path.Combine(report, "report.md")));
    }

    /// <summary>A run with <paramref name="extra"/> options fails, saying <paramref name="because"/>, and writes no model.</summary>
    private void AssertRefusedBeforeWriting(string because, params string[] extra)
    {
        string output = _temp.Sub("refused.onnx");
        var run = Prune(["--max-drop", "5", "--out", output, .. extra]);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains(because, run.Error);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void Prune_stays_inside_the_range_and_writes_the_report_and_a_model_that_runs_in_onnx_runtime()
    {
        string pruned = _temp.Sub("pruned.onnx"), report = _temp.Sub("report");

        var run = Prune("--max-drop", "2", "--out", pruned, "--report", report);

        Assert.True(run.ExitCode == 0, run.Error + run.Output);
        Assert.Contains("budget share", run.Output);
        Assert.Contains("margin", run.Output);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(report, "report.json")));
        var r = json.RootElement;
        long total = r.GetProperty("connectionsTotal").GetInt64(), kept = r.GetProperty("connectionsKept").GetInt64();
        Assert.True(kept < total, "something must be pruned");
        Assert.Equal((double)kept / total, r.GetProperty("keptFraction").GetDouble(), 9);
        double floor = r.GetProperty("range").GetProperty("minAccuracy").GetDouble();
        double original = r.GetProperty("original").GetProperty("validationAccuracy").GetDouble();
        Assert.Equal(original - 0.02, floor, 9);
        Assert.True(r.GetProperty("pruned").GetProperty("validationAccuracy").GetDouble() >= floor);
        Assert.True(r.GetProperty("marginValidation").GetDouble() >= 0);
        foreach (string field in new[] { "compression", "marginTest", "seconds" }) Assert.True(r.TryGetProperty(field, out _), field);
        foreach (var layer in r.GetProperty("layers").EnumerateArray())
            foreach (string field in new[] { "name", "connections", "kept", "budget", "threshold" }) Assert.True(layer.TryGetProperty(field, out _), field);
        Assert.True(File.Exists(Path.Combine(report, "report.md")));

        // The exported file holds exact zeros where connections were pruned and predicts in ONNX Runtime as Shears does.
        var model = OnnxImporter.Load(pruned);
        Assert.Equal(kept, model.Connections().Kept);
        var input = new float[5 * 64];
        for (int i = 0; i < input.Length; i++) input[i] = (i * 37 % 101) / 100f;
        var ours = model.Forward(new Tensor(input, 5, 1, 8, 8), training: false).ReadOnlySpan.ToArray();
        using var session = new InferenceSession(pruned);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", new DenseTensor<float>(input, [5, 1, 8, 8]))]);
        var theirs = results.First().AsEnumerable<float>().ToArray();
        Tolerance.AssertClose(theirs, ours, 1e-4, 1e-4);
    }

    [Fact]
    public void Sparse_storage_writes_the_pruned_weights_as_sparse_initializers_that_load_to_the_same_network()
    {
        string dense = _temp.Sub("dense-stored.onnx"), sparse = _temp.Sub("sparse-stored.onnx");

        var a = Prune("--max-drop", "3", "--out", dense);
        var b = Prune("--max-drop", "3", "--out", sparse, "--sparse-storage");

        Assert.True(a.ExitCode == 0, a.Error + a.Output);
        Assert.True(b.ExitCode == 0, b.Error + b.Output);
        Assert.Contains("sparse storage", b.Output);
        var proto = Shears.Onnx.Proto.ModelProto.Parser.ParseFrom(File.ReadAllBytes(sparse));
        Assert.Equal(["fc1.weight", "fc2.weight", "fc3.weight"], proto.Graph.SparseInitializer.Select(t => t.Values.Name).Order());
        // Same seed, same run: the two files hold the same network, stored two ways.
        var fromDense = OnnxImporter.Load(dense);
        AssertSameNetwork(fromDense, OnnxImporter.Load(sparse));
        var input = new float[3 * 64];
        for (int i = 0; i < input.Length; i++) input[i] = (i * 53 % 97) / 96f;
        var ours = fromDense.Forward(new Tensor(input, 3, 1, 8, 8), training: false).ReadOnlySpan.ToArray();
        using var session = new InferenceSession(sparse);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", new DenseTensor<float>(input, [3, 1, 8, 8]))]);
        Tolerance.AssertClose(results.First().AsEnumerable<float>().ToArray(), ours, 1e-4, 1e-4);
    }

    [Fact]
    public void Convert_stores_a_pruned_model_sparse_and_masks_the_zeros_of_a_file_without_masks()
    {
        string pruned = _temp.Sub("to-convert.onnx"), sparse = _temp.Sub("converted.onnx");
        var run = Prune("--max-drop", "3", "--out", pruned);
        Assert.True(run.ExitCode == 0, run.Error + run.Output);

        var convert = CliRunner.Invoke("convert", pruned, "--out", sparse, "--sparse-storage");

        Assert.True(convert.ExitCode == 0, convert.Error + convert.Output);
        Assert.Contains("sparse storage", convert.Output);
        var proto = Shears.Onnx.Proto.ModelProto.Parser.ParseFrom(File.ReadAllBytes(sparse));
        Assert.Equal(["fc1.weight", "fc2.weight", "fc3.weight"], proto.Graph.SparseInitializer.Select(t => t.Values.Name).Order());
        Assert.Equal(OnnxImporter.ReadMetadata(pruned)[ValidationSplit.MetadataKey], OnnxImporter.ReadMetadata(sparse)[ValidationSplit.MetadataKey]);
        var original = OnnxImporter.Load(pruned);
        AssertSameNetwork(original, OnnxImporter.Load(sparse));

        // A file with the same zeros but no masks (as other tools write them): --mask-zeros finds the pruned connections.
        var unmasked = OnnxImporter.Load(pruned);
        foreach (var p in unmasked.PrunableParameters) p.SetMask(null);
        string foreign = _temp.Sub("foreign.onnx"), remasked = _temp.Sub("remasked.onnx");
        OnnxExporter.Export(unmasked, foreign);
        Assert.Empty(Shears.Onnx.Proto.ModelProto.Parser.ParseFrom(File.ReadAllBytes(foreign)).Graph.SparseInitializer);
        Assert.Equal(0, CliRunner.Invoke("convert", foreign, "--out", remasked, "--sparse-storage", "--mask-zeros").ExitCode);
        AssertSameNetwork(original, OnnxImporter.Load(remasked));
        Assert.Equal(original.Connections().Kept, OnnxImporter.Load(remasked).Connections().Kept);

        var missing = CliRunner.Invoke("convert", _temp.Sub("absent.onnx"), "--out", _temp.Sub("x.onnx"));
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("absent.onnx", missing.Error);
    }

    private static void AssertSameNetwork(Sequential expected, Sequential actual)
    {
        Assert.Equal(expected.Parameters.Count, actual.Parameters.Count);
        foreach (var (x, y) in expected.Parameters.Zip(actual.Parameters))
        {
            Assert.True(x.Value.ReadOnlySpan.SequenceEqual(y.Value.ReadOnlySpan), $"{x.Name} differs");
            Assert.Equal(x.Mask is null, y.Mask is null);
            Assert.Equal(x.KeptCount, y.KeptCount);
        }
    }

    [Fact]
    public void A_floor_above_the_original_says_by_how_much()
    {
        var run = Prune("--min-accuracy", "1.0", "--out", _temp.Sub("p.onnx"));

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("floor", run.Error, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("point", run.Error);
        Assert.False(File.Exists(_temp.Sub("p.onnx")));
    }

    [Fact]
    public void A_negative_drop_is_refused_before_any_work()
    {
        var run = Prune("--max-drop", "-1", "--out", _temp.Sub("p.onnx"));

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("drop", run.Error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void A_missing_range_is_refused_with_what_to_give()
    {
        var run = Prune("--out", _temp.Sub("p.onnx"));

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("--min-accuracy", run.Error.Replace("minimum accuracy", "--min-accuracy"));
    }

    [Fact]
    public void A_drop_held_at_a_confidence_reports_its_bound_within_the_drop()
    {
        string report = _temp.Sub("confident");
        var run = Prune("--max-drop", "5", "--confidence", "0.9", "--out", _temp.Sub("c.onnx"), "--report", report);

        Assert.True(run.ExitCode == 0, run.Error + run.Output);
        Assert.Contains("drop bound (90", run.Output);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(report, "report.json")));
        Assert.Equal(0.9, json.RootElement.GetProperty("range").GetProperty("confidence").GetDouble(), 12);
        Assert.InRange(json.RootElement.GetProperty("dropUpperBound").GetDouble(), -1, 0.05 + 1e-9);

        var bad = Prune("--max-drop", "5", "--confidence", "1.5", "--out", _temp.Sub("bad.onnx"));
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("confidence", bad.Error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Confirm_holds_images_out_of_the_search_and_reports_where_the_result_stands_on_them()
    {
        string report = _temp.Sub("confirmed");
        var run = Prune("--max-drop", "5", "--confirm", "20", "--out", _temp.Sub("c.onnx"), "--report", report);

        Assert.True(run.ExitCode == 0, run.Error + run.Output);
        Assert.Contains("held out (20 images)", run.Output);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(report, "report.json")));
        var c = json.RootElement.GetProperty("confirmation");
        Assert.Equal(20, c.GetProperty("images").GetInt32());
        double floor = c.GetProperty("floor").GetDouble(), accuracy = c.GetProperty("prunedAccuracy").GetDouble();
        Assert.Equal(c.GetProperty("originalAccuracy").GetDouble() - 0.05, floor, 9);
        Assert.Equal(accuracy - floor, c.GetProperty("margin").GetDouble(), 9);
        // Inside the range on the held-out images, unless even the original is not (a drop cannot put it there).
        Assert.True(accuracy >= floor - 1e-9 || c.GetProperty("round").GetInt32() == 0);
        Assert.InRange(c.GetProperty("stepBacks").GetInt32(), 0, 3);
        Assert.Contains("Margin, held-out images", File.ReadAllText(Path.Combine(report, "report.md")));

        var all = Prune("--max-drop", "5", "--confirm", "60", "--out", _temp.Sub("bad.onnx"));
        Assert.NotEqual(0, all.ExitCode);
        Assert.Contains("confirmation", all.Error);
        Assert.False(File.Exists(_temp.Sub("bad.onnx")));
    }

    [Fact]
    public void Relearn_shift_is_recorded_in_the_report_and_a_shift_the_images_cannot_take_fails_before_writing()
    {
        var (json, md) = PruneWithReport("shifted", "--relearn-shift", "2");
        using (json) Assert.Equal(2, json.RootElement.GetProperty("relearnShift").GetInt32());
        Assert.Contains("images shifted at random by up to 2 pixels", md);

        // The band images are 8×8: a shift of 4 would move them out of view.
        AssertRefusedBeforeWriting("8×8", "--relearn-shift", "4");
        AssertRefusedBeforeWriting("at most 3", "--relearn-shift", "4");
    }

    [Fact]
    public void Relearn_weight_decay_is_recorded_in_the_report_and_a_negative_one_fails_before_writing()
    {
        var (json, md) = PruneWithReport("decayed", "--relearn-weight-decay", "0.05");
        using (json) Assert.Equal(0.05, json.RootElement.GetProperty("relearnWeightDecay").GetDouble(), 6);
        Assert.Contains("; weight decay 0.05 |", md);

        AssertRefusedBeforeWriting("weight decay", "--relearn-weight-decay", "-1");
    }

    [Fact]
    public void Warmup_epochs_are_recorded_in_the_report_and_a_negative_count_fails_before_writing()
    {
        var (json, md) = PruneWithReport("warmed", "--warmup-epochs", "2");
        using (json)
        {
            var warmup = json.RootElement.GetProperty("warmup");
            Assert.Equal(2, warmup.GetProperty("epochs").GetInt32());
            double original = json.RootElement.GetProperty("original").GetProperty("validationAccuracy").GetDouble();
            Assert.Equal(warmup.GetProperty("validationAccuracy").GetDouble() >= original, warmup.GetProperty("kept").GetBoolean());
        }
        Assert.Contains("| Warm-up | 2 epochs of re-learning before round 1", md);

        AssertRefusedBeforeWriting("Warm-up epochs", "--warmup-epochs", "-1");
    }

    [Fact]
    public void A_list_of_criteria_runs_one_path_each_and_reports_them_and_a_repeated_or_unknown_one_fails_before_writing()
    {
        var (json, md) = PruneWithReport("paths", "--criterion", "magnitude,activation");
        using (json)
        {
            var paths = json.RootElement.GetProperty("paths").EnumerateArray().ToArray();
            Assert.Equal(["Magnitude", "ActivationAware"], paths.Select(p => p.GetProperty("criterion").GetString()));
            var kept = Assert.Single(paths, p => p.GetProperty("kept").GetBoolean());
            Assert.Equal(paths.Min(p => p.GetProperty("connectionsKept").GetInt64()), kept.GetProperty("connectionsKept").GetInt64());
            Assert.Equal(kept.GetProperty("connectionsKept").GetInt64(), json.RootElement.GetProperty("connectionsKept").GetInt64());
            Assert.Equal(kept.GetProperty("criterion").GetString(), json.RootElement.GetProperty("criterion").GetString());
        }
        Assert.Contains("| Paths (one search per criterion, the sparsest kept) | Magnitude: ", md);

        AssertRefusedBeforeWriting("twice", "--criterion", "fisher,fisher");
        AssertRefusedBeforeWriting("Unknown criterion 'taylor'", "--criterion", "magnitude,taylor");
    }

    [Fact]
    public void An_unknown_allocation_is_a_usage_error()
    {
        var run = Prune("--max-drop", "1", "--allocation", "random", "--out", _temp.Sub("p.onnx"));
        Assert.NotEqual(0, run.ExitCode);
    }

    [Fact]
    public void Prune_validates_on_the_split_the_model_was_trained_with_unless_told_otherwise()
    {
        string dense = _temp.Sub("random-split.onnx");
        var train = CliRunner.Invoke("train", "--model", "fcn1", "--epochs", "1", "--batch-size", "16", "--validation", "60",
            "--validation-split", "random", "--split-seed", "3", "--dataset", _data, "--data-dir", _data, "--out", dense);
        Assert.True(train.ExitCode == 0, train.Error);
        Assert.Equal("random:60:3", OnnxImporter.ReadMetadata(dense)["shears.validation"]);
        Assert.Equal("last:60", OnnxImporter.ReadMetadata(_model)["shears.validation"]);

        string SplitUsed(params string[] extra)
        {
            string pruned = _temp.Sub($"p{Guid.NewGuid():N}.onnx"), report = _temp.Sub($"r{Guid.NewGuid():N}");
            var run = CliRunner.Invoke(["prune", dense, "--dataset", _data, "--data-dir", _data, "--relearn-epochs", "1", "--rounds", "1",
                "--max-drop", "5", "--out", pruned, "--report", report, .. extra]);
            Assert.True(run.ExitCode == 0, run.Error + run.Output);
            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(report, "report.json")));
            string used = json.RootElement.GetProperty("validationSplit").GetString()!;
            Assert.Equal(used, OnnxImporter.ReadMetadata(pruned)["shears.validation"]); // the pruned model records it too
            return used;
        }

        Assert.Equal("random:60:3", SplitUsed());
        Assert.Equal("random:60:4", SplitUsed("--split-seed", "4"));
        Assert.Equal("last:60", SplitUsed("--validation-split", "last"));
    }

    [Fact]
    public void A_model_recording_a_malformed_split_is_refused_naming_the_file()
    {
        string bad = _temp.Sub("bad-split.onnx");
        OnnxExporter.Export(OnnxImporter.Load(_model), bad,
            new OnnxExportOptions { Metadata = new Dictionary<string, string> { ["shears.validation"] = "sideways:60" } });

        var run = Prune("--max-drop", "1", "--out", _temp.Sub("p.onnx"));
        var badRun = CliRunner.Invoke("prune", bad, "--dataset", _data, "--data-dir", _data, "--max-drop", "1", "--out", _temp.Sub("q.onnx"));

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(1, badRun.ExitCode);
        Assert.Contains("bad-split.onnx", badRun.Error);
        Assert.Contains("sideways:60", badRun.Error);
    }
}
