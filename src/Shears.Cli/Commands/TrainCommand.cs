using Shears.Data;
using System.CommandLine;
using Shears.Models;
using Shears.Onnx;
using Shears.Training;
using Spectre.Console;

namespace Shears.Cli.Commands;

/// <summary>`shears train`: trains a zoo model, evaluates it, exports ONNX, and writes metrics.</summary>
internal static class TrainCommand
{
    public static Command Create(CliContext context)
    {
        var model = new Option<string>("--model") { Description = "Network to train: fcn1, fcn2 or cnn3.", Required = true };
        model.AcceptOnlyFromAmong([.. ModelZoo.Names]);
        var epochs = new Option<int?>("--epochs") { Description = "Epochs (default: fcn1 10, fcn2 15, cnn3 8)." };
        var batch = new Option<int>("--batch-size") { Description = "Mini-batch size.", DefaultValueFactory = _ => 128 };
        var optimizer = new Option<string>("--optimizer") { Description = "adam or sgd.", DefaultValueFactory = _ => "adam" };
        optimizer.AcceptOnlyFromAmong("adam", "sgd");
        var lr = new Option<float?>("--lr") { Description = "Learning rate (default: adam 1e-3, sgd 0.05), decayed by a cosine schedule." };
        var weightDecay = new Option<float?>("--weight-decay") { Description = "Weight decay (default: adam 0, sgd 5e-4)." };
        var schedule = new Option<string>("--schedule") { Description = "Learning-rate schedule: cosine, step or constant.", DefaultValueFactory = _ => "cosine" };
        schedule.AcceptOnlyFromAmong("cosine", "step", "constant");
        var seed = new Option<int>("--seed") { Description = "Seed for initialisation and shuffling.", DefaultValueFactory = _ => 1 };
        var shift = new Option<int>("--shift") { Description = "Train on images shifted at random by up to N pixels each way, zero-filled (0: as they are).", DefaultValueFactory = _ => 0 };
        var split = new SplitOptions();
        var output = new Option<string>("--out") { Description = "Where to write the trained model (ONNX).", Required = true };
        var metrics = new Option<string?>("--metrics") { Description = "Write metrics JSON here." };
        var checkpointDir = new Option<string?>("--checkpoint-dir") { Description = "Write a checkpoint after each epoch into this folder." };
        var resume = new Option<bool>("--resume") { Description = "Continue from the checkpoint in --checkpoint-dir." };
        var dataDir = CliContext.DataDirOption();
        var dataset = CliContext.DatasetOption();

        var command = new Command("train", "Train one of the paper's networks and save it as ONNX.")
        {
            model, epochs, batch, optimizer, lr, weightDecay, schedule, seed, shift, output, metrics, checkpointDir, resume, dataDir, dataset,
        };
        foreach (var option in split.All) command.Options.Add(option);
        command.SetAction((parse, cancellation) =>
        {
            string name = parse.GetValue(model)!;
            var options = new TrainingOptions
            {
                Epochs = parse.GetValue(epochs) ?? DefaultEpochs(name),
                BatchSize = parse.GetValue(batch),
                Optimizer = parse.GetValue(optimizer) == "sgd" ? OptimizerKind.Sgd : OptimizerKind.Adam,
                LearningRate = parse.GetValue(lr),
                WeightDecay = parse.GetValue(weightDecay),
                Schedule = Enum.Parse<ScheduleKind>(parse.GetValue(schedule)!, ignoreCase: true),
                Seed = parse.GetValue(seed),
                MaxShift = parse.GetValue(shift),
                CheckpointDirectory = parse.GetValue(checkpointDir),
                Resume = parse.GetValue(resume),
            };
            var validationSplit = split.Resolve(parse, ValidationSplit.Default);
            var run = new TrainRun(name, options, validationSplit, parse.GetValue(dataset)!, parse.GetValue(dataDir));
            var result = run.Execute(context, cancellation);
            OnnxExporter.Export(result.Model, parse.GetValue(output)!, SplitOptions.Recording(validationSplit));
            ShowSummary(context.Console, result, parse.GetValue(output)!);
            if (parse.GetValue(metrics) is { } path) CliContext.WriteJson(path, result.Metrics);
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>Epoch counts that reach the targets (FCN-1 ≥ 0.92, FCN-2 ≥ 0.98, CNN-3 ≥ 0.99) with Adam and a cosine schedule.</summary>
    public static int DefaultEpochs(string model) => model switch { "fcn1" => 10, "fcn2" => 15, "cnn3" => 8, _ => 10 };

    private static void ShowSummary(IAnsiConsole console, TrainRun.Result r, string path)
    {
        var m = r.Metrics;
        var table = new Table().Title($"[bold]{m.Model}[/] trained").AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
        table.AddRow("validation accuracy", $"{m.ValidationAccuracy:P2}");
        table.AddRow("test accuracy", $"{m.TestAccuracy:P2}");
        table.AddRow("test loss", $"{m.TestLoss:F4}");
        table.AddRow("epochs", m.Epochs.ToString());
        table.AddRow("train time", $"{m.TrainSeconds:F1} s");
        table.AddRow("images/s", $"{m.ImagesPerSecond:N0}");
        table.AddRow("connections", $"{m.Connections:N0}");
        table.AddRow("saved to", Markup.Escape(path));
        console.Write(table);
    }
}
