using System.Text.Json;
using Shears.Tests.TestSupport;

namespace Shears.Tests.Cli;

public sealed class CliTests : IDisposable
{
    private readonly DataTempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private string SyntheticDataset() => CliData.Bands(_temp.Folder("data"));

    [Fact]
    public void Train_writes_a_model_and_metrics_with_the_documented_fields()
    {
        string data = SyntheticDataset();
        string model = _temp.Sub("m.onnx"), metrics = _temp.Sub("m.json");
        var run = CliRunner.Invoke("train", "--model", "fcn2", "--epochs", "3", "--batch-size", "16", "--validation", "30",
            "--dataset", data, "--data-dir", data, "--out", model, "--metrics", metrics);

        Assert.True(run.ExitCode == 0, run.Error + run.Output);
        Assert.True(File.Exists(model));
        using var json = JsonDocument.Parse(File.ReadAllText(metrics));
        var root = json.RootElement;
        Assert.Equal("fcn2", root.GetProperty("model").GetString());
        Assert.Equal(3, root.GetProperty("epochs").GetInt32());
        Assert.True(root.GetProperty("trainSeconds").GetDouble() > 0);
        Assert.True(root.GetProperty("imagesPerSecond").GetDouble() > 0);
        Assert.InRange(root.GetProperty("validationAccuracy").GetDouble(), 0.8, 1.0);
        Assert.InRange(root.GetProperty("testAccuracy").GetDouble(), 0.8, 1.0);
        Assert.Contains("test accuracy", run.Output);
        Assert.Contains("epoch 3/3", run.Output);
    }

    [Fact]
    public void Train_with_a_shift_trains_on_moved_images_records_it_and_refuses_a_shift_the_images_cannot_take()
    {
        string data = SyntheticDataset();
        string plain = _temp.Sub("plain.onnx"), shifted = _temp.Sub("shifted.onnx"), metrics = _temp.Sub("shifted.json");
        string[] common = ["train", "--model", "fcn1", "--epochs", "2", "--batch-size", "16", "--validation", "30", "--dataset", data, "--data-dir", data];
        Assert.Equal(0, CliRunner.Invoke([.. common, "--out", plain]).ExitCode);
        var run = CliRunner.Invoke([.. common, "--shift", "1", "--out", shifted, "--metrics", metrics]);

        Assert.True(run.ExitCode == 0, run.Error + run.Output);
        using (var json = JsonDocument.Parse(File.ReadAllText(metrics)))
            Assert.Equal(1, json.RootElement.GetProperty("shift").GetInt32());
        // Same seed, same shuffles: only the shifts tell the two runs apart.
        Assert.NotEqual(Shears.Onnx.OnnxImporter.Load(plain).GetParameter("fc1.weight").Value.ReadOnlySpan.ToArray(),
            Shears.Onnx.OnnxImporter.Load(shifted).GetParameter("fc1.weight").Value.ReadOnlySpan.ToArray());

        // The band images are 8×8: a shift of 4 would move them out of view.
        var far = CliRunner.Invoke([.. common, "--shift", "4", "--out", _temp.Sub("far.onnx")]);
        Assert.NotEqual(0, far.ExitCode);
        Assert.Contains("at most 3", far.Error);
        Assert.False(File.Exists(_temp.Sub("far.onnx")));
    }

    [Fact]
    public void Eval_reports_accuracy_loss_and_a_confusion_matrix()
    {
        string data = SyntheticDataset();
        string model = _temp.Sub("m.onnx"), metrics = _temp.Sub("e.json");
        Assert.Equal(0, CliRunner.Invoke("train", "--model", "fcn1", "--epochs", "4", "--batch-size", "16", "--validation", "30",
            "--dataset", data, "--data-dir", data, "--out", model).ExitCode);

        var run = CliRunner.Invoke("eval", model, "--dataset", data, "--data-dir", data, "--metrics", metrics);

        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains("confusion matrix", run.Output);
        using var json = JsonDocument.Parse(File.ReadAllText(metrics));
        var root = json.RootElement;
        Assert.Equal(60, root.GetProperty("count").GetInt32());
        var matrix = root.GetProperty("confusionMatrix");
        Assert.Equal(3, matrix.GetArrayLength());
        int total = matrix.EnumerateArray().Sum(r => r.EnumerateArray().Sum(v => v.GetInt32()));
        int diagonal = Enumerable.Range(0, 3).Sum(i => matrix[i][i].GetInt32());
        Assert.Equal(60, total);
        Assert.Equal(root.GetProperty("accuracy").GetDouble(), diagonal / 60.0, 9);
    }

    [Fact]
    public void Eval_against_another_model_compares_them_image_by_image()
    {
        string data = SyntheticDataset();
        string weak = _temp.Sub("weak.onnx"), strong = _temp.Sub("strong.onnx"), metrics = _temp.Sub("vs.json");
        Assert.Equal(0, CliRunner.Invoke("train", "--model", "fcn1", "--epochs", "1", "--batch-size", "16", "--validation", "30", "--lr", "0.0003",
            "--dataset", data, "--data-dir", data, "--out", weak).ExitCode);
        Assert.Equal(0, CliRunner.Invoke("train", "--model", "fcn1", "--epochs", "4", "--batch-size", "16", "--validation", "30", "--seed", "2",
            "--dataset", data, "--data-dir", data, "--out", strong).ExitCode);

        var run = CliRunner.Invoke("eval", weak, "--against", strong, "--confidence", "0.9", "--dataset", data, "--data-dir", data, "--metrics", metrics);

        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains("images lost / won against it", run.Output);
        using var json = JsonDocument.Parse(File.ReadAllText(metrics));
        var root = json.RootElement;
        var against = root.GetProperty("against");
        Assert.Equal("strong.onnx", against.GetProperty("model").GetString());
        int lost = against.GetProperty("lost").GetInt32(), won = against.GetProperty("won").GetInt32(), count = root.GetProperty("count").GetInt32();
        double drop = against.GetProperty("accuracy").GetDouble() - root.GetProperty("accuracy").GetDouble();
        Assert.Equal(drop, against.GetProperty("drop").GetDouble(), 12);
        Assert.Equal((lost - won) / (double)count, drop, 12);
        Assert.Equal(0.9, against.GetProperty("confidence").GetDouble());
        Assert.True(against.GetProperty("dropUpperBound").GetDouble() >= drop, "the upper bound is below the measured drop");
        Assert.True(lost + won > 0, "an untrained and a trained model should disagree somewhere");

        // A model against itself loses nothing; a confidence out of range is refused.
        var self = CliRunner.Invoke("eval", strong, "--against", strong, "--dataset", data, "--data-dir", data, "--metrics", metrics);
        Assert.True(self.ExitCode == 0, self.Error);
        using (var same = JsonDocument.Parse(File.ReadAllText(metrics)))
            Assert.Equal(0, same.RootElement.GetProperty("against").GetProperty("dropUpperBound").GetDouble());
        var bad = CliRunner.Invoke("eval", strong, "--against", weak, "--confidence", "1.5", "--dataset", data, "--data-dir", data);
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("confidence", bad.Error);

        // A model for other images or other classes cannot be paired image by image: refused, naming both files.
        string other = _temp.Sub("other-classes.onnx");
        Shears.Onnx.OnnxExporter.Export(Shears.Models.ModelZoo.Create("fcn1", [1, 8, 8], 7, seed: 3), other);
        var mismatch = CliRunner.Invoke("eval", strong, "--against", other, "--dataset", data, "--data-dir", data);
        Assert.Equal(2, mismatch.ExitCode); // a usage error: the two files do not go together
        Assert.Contains("other-classes.onnx", mismatch.Error);
        Assert.Contains("strong.onnx", mismatch.Error);
        Assert.Contains("cannot be compared", mismatch.Error);
    }

    [Fact]
    public void Resume_after_a_finished_run_continues_from_the_checkpoint_and_keeps_the_weights()
    {
        string data = SyntheticDataset();
        string checkpoints = _temp.Folder("ck");
        string first = _temp.Sub("a.onnx"), second = _temp.Sub("b.onnx"), metrics = _temp.Sub("b.json");
        string[] common = ["train", "--model", "fcn1", "--epochs", "2", "--batch-size", "16", "--validation", "30", "--dataset", data, "--data-dir", data, "--checkpoint-dir", checkpoints];
        Assert.Equal(0, CliRunner.Invoke([.. common, "--out", first]).ExitCode);
        Assert.True(File.Exists(Path.Combine(checkpoints, "checkpoint.bin")));

        var run = CliRunner.Invoke([.. common, "--resume", "--out", second, "--metrics", metrics]);

        Assert.True(run.ExitCode == 0, run.Error);
        using var json = JsonDocument.Parse(File.ReadAllText(metrics));
        Assert.Equal(2, json.RootElement.GetProperty("resumedFromEpoch").GetInt32());
        Assert.Equal(File.ReadAllBytes(first), File.ReadAllBytes(second));
    }

    [Fact]
    public void A_file_that_is_not_onnx_fails_with_its_name_and_no_stack_trace()
    {
        string bogus = _temp.Sub("not-a-model.onnx");
        File.WriteAllBytes(bogus, [0xFF, 0xFF, 0xFF, 0x07, 0x01, 0x02]);

        var run = CliRunner.Invoke("eval", bogus, "--data-dir", SyntheticDataset(), "--dataset", "x");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("not-a-model.onnx", run.Error);
        Assert.DoesNotContain("   at ", run.Error);
    }

    [Fact]
    public void Verbose_adds_the_stack_trace()
    {
        string bogus = _temp.Sub("bad.onnx");
        File.WriteAllBytes(bogus, [0xFF, 0xFF, 0xFF]);

        var run = CliRunner.Invoke("eval", bogus, "--verbose");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("   at ", run.Error);
    }

    [Fact]
    public void A_corrupt_dataset_file_fails_naming_the_file()
    {
        string data = SyntheticDataset();
        string labels = Path.Combine(data, "train-labels-idx1-ubyte");
        var bytes = File.ReadAllBytes(labels);
        bytes[3] = 0x99; // wrong magic number
        File.WriteAllBytes(labels, bytes);

        var run = CliRunner.Invoke("train", "--model", "fcn1", "--epochs", "1", "--validation", "30", "--dataset", data, "--data-dir", data, "--out", _temp.Sub("x.onnx"));

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("train-labels-idx1-ubyte", run.Error);
        Assert.Contains("magic", run.Error, StringComparison.OrdinalIgnoreCase);
        Assert.False(File.Exists(_temp.Sub("x.onnx")));
    }

    [Fact]
    public void An_unknown_model_name_is_a_usage_error()
    {
        var run = CliRunner.Invoke("train", "--model", "resnet", "--out", _temp.Sub("x.onnx"));
        Assert.NotEqual(0, run.ExitCode);
    }
}
