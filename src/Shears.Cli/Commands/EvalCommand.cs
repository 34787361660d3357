using System.CommandLine;
using Shears.Onnx;
using Shears.Training;
using Spectre.Console;

namespace Shears.Cli.Commands;

/// <summary>`shears eval`: accuracy, loss and confusion matrix of an ONNX model on a dataset's test split.</summary>
internal static class EvalCommand
{
    public sealed record Metrics(string Model, string Dataset, int Count, double Accuracy, double Loss, long Connections, long ConnectionsKept, int[][] ConfusionMatrix);

    public static Command Create(CliContext context)
    {
        var modelPath = new Argument<string>("model") { Description = "ONNX model file." };
        var dataDir = CliContext.DataDirOption();
        var dataset = CliContext.DatasetOption();
        var metrics = new Option<string?>("--metrics") { Description = "Write metrics JSON here." };
        var command = new Command("eval", "Evaluate an ONNX model on the test split.") { modelPath, dataDir, dataset, metrics };
        command.SetAction((parse, cancellation) =>
        {
            string path = parse.GetValue(modelPath)!;
            var model = OnnxImporter.Load(path);
            var splits = context.LoadDataset(parse.GetValue(dataset)!, parse.GetValue(dataDir), cancellation);
            var result = Evaluator.Evaluate(model, splits.Test, cancellation: cancellation);
            var (total, kept) = model.Connections();
            int rows = result.ConfusionMatrix.GetLength(0), cols = result.ConfusionMatrix.GetLength(1);
            var matrix = Enumerable.Range(0, rows).Select(r => Enumerable.Range(0, cols).Select(c => result.ConfusionMatrix[r, c]).ToArray()).ToArray();
            var m = new Metrics(Path.GetFileName(path), parse.GetValue(dataset)!, result.Count, result.Accuracy, result.Loss, total, kept, matrix);

            var summary = new Table().Title($"[bold]{Markup.Escape(m.Model)}[/] on {Markup.Escape(m.Dataset)} test ({m.Count:N0} images)")
                .AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
            summary.AddRow("accuracy", $"{m.Accuracy:P2}");
            summary.AddRow("loss", $"{m.Loss:F4}");
            summary.AddRow("connections kept", $"{kept:N0} / {total:N0} ({(double)kept / Math.Max(1, total):P2})");
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
