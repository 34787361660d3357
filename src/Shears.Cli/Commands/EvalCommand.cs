using System.CommandLine;
using Shears.Onnx;
using Shears.Training;
using Spectre.Console;

namespace Shears.Cli.Commands;

/// <summary>
/// `shears eval`: accuracy, loss and confusion matrix of an ONNX model on a dataset's test split, and with
/// `--against`, a paired comparison with another model (typically the original a pruned model came from).
/// </summary>
internal static class EvalCommand
{
    public sealed record Metrics(string Model, string Dataset, int Count, double Accuracy, double Loss, long Connections, long ConnectionsKept, int[][] ConfusionMatrix,
        Comparison? Against = null);

    /// <summary>
    /// The model against <see cref="Model"/> image by image: images it got wrong that the other got right
    /// (<see cref="Lost"/>) and the reverse (<see cref="Won"/>); the drop (accuracy units) and its one-sided upper
    /// bound at <see cref="Confidence"/>.
    /// </summary>
    public sealed record Comparison(string Model, double Accuracy, int Lost, int Won, double Drop, double DropUpperBound, double Confidence);

    public static Command Create(CliContext context)
    {
        var modelPath = new Argument<string>("model") { Description = "ONNX model file." };
        var dataDir = CliContext.DataDirOption();
        var dataset = CliContext.DatasetOption();
        var metrics = new Option<string?>("--metrics") { Description = "Write metrics JSON here." };
        var against = new Option<string?>("--against") { Description = "Another ONNX model (say, the original of a pruned one): compare the two image by image, with the drop's upper confidence bound." };
        var confidence = new Option<double>("--confidence") { Description = "One-sided confidence of the drop's bound with --against.", DefaultValueFactory = _ => 0.95 };
        var command = new Command("eval", "Evaluate an ONNX model on the test split.") { modelPath, dataDir, dataset, metrics, against, confidence };
        command.SetAction((parse, cancellation) =>
        {
            string path = parse.GetValue(modelPath)!;
            var model = OnnxImporter.Load(path);
            string? otherPath = parse.GetValue(against);
            var other = otherPath is null ? null : OnnxImporter.Load(otherPath);
            if (other is not null && (!other.InputShape.SequenceEqual(model.InputShape) || other.ClassCount != model.ClassCount))
                throw new ArgumentException($"'{otherPath}' takes [{string.Join(", ", other.InputShape)}] and predicts {other.ClassCount} classes, but '{path}' takes " +
                                            $"[{string.Join(", ", model.InputShape)}] and predicts {model.ClassCount}: they cannot be compared image by image.");
            double z = other is null ? 0 : Pruning.NonInferiority.Z(parse.GetValue(confidence));
            var splits = context.LoadDataset(parse.GetValue(dataset)!, parse.GetValue(dataDir), cancellation);
            var correct = other is null ? null : new bool[splits.Test.Count];
            var result = Evaluator.Evaluate(model, splits.Test, cancellation: cancellation, correct: correct);
            Comparison? comparison = null;
            if (other is not null)
            {
                var otherCorrect = new bool[splits.Test.Count];
                double otherAccuracy = Evaluator.Evaluate(other, splits.Test, cancellation: cancellation, correct: otherCorrect).Accuracy;
                var paired = Pruning.NonInferiority.Compare(otherCorrect, correct);
                comparison = new Comparison(Path.GetFileName(otherPath!), otherAccuracy, paired.Lost, paired.Won, paired.Drop,
                    paired.UpperBound(z), parse.GetValue(confidence));
            }
            var (total, kept) = model.Connections();
            int rows = result.ConfusionMatrix.GetLength(0), cols = result.ConfusionMatrix.GetLength(1);
            var matrix = Enumerable.Range(0, rows).Select(r => Enumerable.Range(0, cols).Select(c => result.ConfusionMatrix[r, c]).ToArray()).ToArray();
            var m = new Metrics(Path.GetFileName(path), parse.GetValue(dataset)!, result.Count, result.Accuracy, result.Loss, total, kept, matrix, comparison);

            var summary = new Table().Title($"[bold]{Markup.Escape(m.Model)}[/] on {Markup.Escape(m.Dataset)} test ({m.Count:N0} images)")
                .AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
            summary.AddRow("accuracy", $"{m.Accuracy:P2}");
            summary.AddRow("loss", $"{m.Loss:F4}");
            summary.AddRow("connections kept", $"{kept:N0} / {total:N0} ({(double)kept / Math.Max(1, total):P2})");
            if (comparison is { } c)
            {
                summary.AddRow($"accuracy of {Markup.Escape(c.Model)}", $"{c.Accuracy:P2}");
                summary.AddRow("images lost / won against it", $"{c.Lost:N0} / {c.Won:N0}");
                summary.AddRow("drop", $"{c.Drop * 100:F2} pts");
                summary.AddRow($"drop, upper bound ({c.Confidence:P0} one-sided)", $"{c.DropUpperBound * 100:F2} pts");
            }
            context.Console.Write(summary);
            context.Console.Write(ConfusionTable(matrix));
            if (parse.GetValue(metrics) is { } mp) CliContext.WriteJson(mp, m);
            return Task.FromResult(0);
        });
        return command;
    }

    private static Table ConfusionTable(int[][] matrix)
    {
        var table = new Table().Title("confusion matrix (rows: true class, columns: predicted)").AddColumn("");
        for (int c = 0; c < matrix[0].Length; c++) table.AddColumn(new TableColumn(c.ToString()).RightAligned());
        for (int r = 0; r < matrix.Length; r++)
            table.AddRow([r.ToString(), .. matrix[r].Select((v, c) => r == c ? $"[green]{v}[/]" : v == 0 ? "[grey]0[/]" : v.ToString())]);
        return table;
    }
}
