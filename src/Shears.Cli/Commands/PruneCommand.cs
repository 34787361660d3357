using System.CommandLine;
using Shears.Data;
using Shears.Onnx;
using Shears.Pruning;
using Shears.Reports;
using Spectre.Console;

namespace Shears.Cli.Commands;

/// <summary>`shears prune`: the paper's method on an ONNX model, against a desired accuracy range.</summary>
internal static class PruneCommand
{
    public static readonly string[] AllocationNames = ["sensitivity", "uniform", "size", "global", "uniform-sparsity"];
    public static readonly string[] CriterionNames = ["magnitude", "activation", "fisher"];

    public static AllocationKind ParseAllocation(string name) => name switch
    {
        "sensitivity" => AllocationKind.Sensitivity,
        "uniform" => AllocationKind.Uniform,
        "size" => AllocationKind.Size,
        "global" => AllocationKind.Global,
        "uniform-sparsity" => AllocationKind.UniformSparsity,
        _ => throw new ArgumentException($"Unknown allocation '{name}'; choose one of {string.Join(", ", AllocationNames)}."),
    };

    /// <summary>A comma-separated list of criteria, each once: the first leads, the rest are <see cref="PruningOptions.AlsoTry"/>.</summary>
    public static CriterionKind[] ParseCriteria(string list)
    {
        var criteria = list.Split(',', StringSplitOptions.TrimEntries).Select(ParseCriterion).ToArray();
        if (criteria.Distinct().Count() != criteria.Length) throw new ArgumentException($"--criterion names a criterion twice: '{list}'.");
        return criteria;
    }

    public static CriterionKind ParseCriterion(string name) => name switch
    {
        "magnitude" => CriterionKind.Magnitude,
        "activation" or "activation-aware" => CriterionKind.ActivationAware,
        "fisher" => CriterionKind.Fisher,
        _ => throw new ArgumentException($"Unknown criterion '{name}'; choose one of {string.Join(", ", CriterionNames)}."),
    };

    /// <summary>The library's defaults, shown as the options' defaults.</summary>
    private static readonly PruningOptions DefaultOptions = new(AccuracyRange.WithinDrop(0));

    public static Command Create(CliContext context)
    {
        var modelPath = new Argument<string>("model") { Description = "Trained ONNX model to prune." };
        var minAccuracy = new Option<double?>("--min-accuracy") { Description = "Absolute accuracy floor (0..1) on the validation split." };
        var maxDrop = new Option<double?>("--max-drop") { Description = "Largest drop, in percentage points, below the original's validation accuracy." };
        var allocation = new Option<string>("--allocation") { Description = "How the error budget is shared among layers.", DefaultValueFactory = _ => "sensitivity" };
        allocation.AcceptOnlyFromAmong(AllocationNames);
        var criterion = new Option<string>("--criterion") { Description = "Connection score: magnitude (the paper's), activation (|w| × rms of the input activation) or fisher (w² × the empirical Fisher information, a second-order saliency). A comma-separated list (magnitude,fisher) runs one whole search per criterion from the original and keeps the sparsest result (side by side, a core each, where there are cores).", DefaultValueFactory = _ => "magnitude" };
        criterion.Validators.Add(result =>
        {
            try { ParseCriteria(result.GetValueOrDefault<string>()!); }
            catch (ArgumentException e) { result.AddError(e.Message); }
        });
        var relearnEpochs = new Option<int>("--relearn-epochs") { Description = "Re-learning epochs per round.", DefaultValueFactory = _ => 2 };
        var rounds = new Option<int>("--rounds") { Description = "At most this many prune/re-learn rounds.", DefaultValueFactory = _ => DefaultOptions.Rounds };
        var relearnLr = new Option<float>("--relearn-lr") { Description = "Re-learning learning rate (Adam, cosine decay within a round).", DefaultValueFactory = _ => DefaultOptions.RelearnLearningRate };
        var relearnDecay = new Option<float>("--relearn-weight-decay") { Description = "Decoupled weight decay while re-learning (AdamW; 0: none): shrinks the weights the loss does not hold up, so later rounds prune them first.", DefaultValueFactory = _ => DefaultOptions.RelearnWeightDecay };
        var stepBudget = new Option<double>("--step-budget") { Description = "Points a round's pruning may cost before re-learning (at least what is left of the error budget; halved after a step back). The check after re-learning decides.", DefaultValueFactory = _ => DefaultOptions.StepBudget };
        var margin = new Option<double>("--margin") { Description = "Safety margin, in points, kept above --min-accuracy on the validation split.", DefaultValueFactory = _ => DefaultOptions.SafetyMargin };
        var rescue = new Option<int>("--rescue-epochs") { Description = "Extra re-learning epochs for a round that ends outside the range, before it is stepped back (0: none).", DefaultValueFactory = _ => DefaultOptions.RescueEpochs };
        var sensitivityImages = new Option<int?>("--sensitivity-images") { Description = "Measure sensitivity curves on only the first N validation images (checks against the range use all of them)." };
        var distill = new Option<double>("--distill") { Description = "Re-learn by distillation from the original network: the soft targets' share α of the loss (0: labels only).", DefaultValueFactory = _ => DefaultOptions.DistillWeight };
        var distillTemperature = new Option<double>("--distill-temperature") { Description = "Temperature that softens both networks' outputs for --distill.", DefaultValueFactory = _ => DefaultOptions.DistillTemperature };
        var stepBacks = new Option<int>("--max-step-backs") { Description = "Rounds that may end outside the range (each stepped back, the step halved) before the run stops.", DefaultValueFactory = _ => DefaultOptions.MaxStepBacks };
        var dropMargin = new Option<double>("--drop-margin") { Description = "Margin, in points, kept inside --max-drop on the validation split (the result loses at most the drop minus this).", DefaultValueFactory = _ => DefaultOptions.DropMargin };
        var confidence = new Option<double>("--confidence") { Description = "Hold --max-drop at this one-sided confidence (e.g. 0.95): the upper confidence bound of the drop against the original, paired on the validation images, must be within it (0: the measured drop decides).", DefaultValueFactory = _ => DefaultOptions.Confidence };
        var confirm = new Option<int>("--confirm") { Description = "Hold the last N validation images out of the search and check its result on them: when it falls below the range there, step back to the newest accepted network that holds (0: none).", DefaultValueFactory = _ => DefaultOptions.ConfirmationImages };
        var shift = new Option<int>("--relearn-shift") { Description = "Re-learn on training images shifted at random by up to N pixels each way, zero-filled (0: as they are). Lets long re-learning generalise instead of memorising.", DefaultValueFactory = _ => DefaultOptions.RelearnShift };
        var polish = new Option<int>("--polish-epochs") { Description = "Epochs of a last re-learning of the result, kept only if validation accuracy does not fall.", DefaultValueFactory = _ => DefaultOptions.PolishEpochs };
        var warmup = new Option<int>("--warmup-epochs") { Description = "Epochs of re-learning of the original before the first round, with the rounds' settings (e.g. --relearn-shift), kept only if validation accuracy does not fall; the range stays the original's.", DefaultValueFactory = _ => DefaultOptions.WarmupEpochs };
        var alwaysRelearn = new Option<bool>("--always-relearn") { Description = "Keep every round's re-learned network, as the paper does, even when re-learning lost accuracy the network had just after pruning (by default the better of the two is checked against the range)." };
        var seed = new Option<int>("--seed") { Description = "Seed for re-learning's shuffles.", DefaultValueFactory = _ => 1 };
        var split = new SplitOptions();
        var output = new Option<string>("--out") { Description = "Where to write the pruned model (ONNX).", Required = true };
        var report = new Option<string?>("--report") { Description = "Folder for report.json, report.md and images." };
        var sparseStorage = new Option<bool>("--sparse-storage") { Description = "Store the pruned weights as ONNX sparse initializers (kept values and their int64 indices): a smaller file when under about a third of a layer is kept. ONNX Runtime and Shears densify them on load." };
        var dataDir = CliContext.DataDirOption();
        var dataset = CliContext.DatasetOption();

        var command = new Command("prune", "Prune a model as far as the desired accuracy range allows, with per-layer error budgets and re-learning.")
        {
            modelPath, minAccuracy, maxDrop, allocation, criterion, relearnEpochs, rounds, relearnLr, relearnDecay, stepBudget, margin, rescue, sensitivityImages, distill, distillTemperature, stepBacks, dropMargin, confidence, confirm, shift, polish, warmup, alwaysRelearn, seed, output, report, sparseStorage, dataDir, dataset,
        };
        foreach (var option in split.All) command.Options.Add(option);
        command.SetAction((parse, cancellation) =>
        {
            var range = new AccuracyRange(parse.GetValue(minAccuracy), parse.GetValue(maxDrop));
            range.Validate();
            var criteria = ParseCriteria(parse.GetValue(criterion)!);
            var options = new PruningOptions(range)
            {
                Allocation = ParseAllocation(parse.GetValue(allocation)!),
                Criterion = criteria[0],
                AlsoTry = criteria[1..],
                RelearnEpochs = parse.GetValue(relearnEpochs),
                Rounds = parse.GetValue(rounds),
                RelearnLearningRate = parse.GetValue(relearnLr),
                RelearnWeightDecay = parse.GetValue(relearnDecay),
                StepBudget = parse.GetValue(stepBudget),
                SafetyMargin = parse.GetValue(margin),
                DropMargin = parse.GetValue(dropMargin),
                Confidence = parse.GetValue(confidence),
                ConfirmationImages = parse.GetValue(confirm),
                RescueEpochs = parse.GetValue(rescue),
                SensitivityImages = parse.GetValue(sensitivityImages),
                RelearnShift = parse.GetValue(shift),
                PolishEpochs = parse.GetValue(polish),
                WarmupEpochs = parse.GetValue(warmup),
                AcceptAsPruned = !parse.GetValue(alwaysRelearn),
                MaxStepBacks = parse.GetValue(stepBacks),
                DistillWeight = parse.GetValue(distill),
                DistillTemperature = parse.GetValue(distillTemperature),
                Seed = parse.GetValue(seed),
            };
            options.Validate();
            string path = parse.GetValue(modelPath)!;
            var model = OnnxImporter.Load(path);
            var splits = context.LoadDataset(parse.GetValue(dataset)!, parse.GetValue(dataDir), cancellation);
            var validationSplit = split.Resolve(parse, SplitOptions.RecordedIn(path));
            var (train, val) = validationSplit.Apply(splits.Train);
            context.Console.MarkupLine(Markup.Escape($"validation: {validationSplit.Describe()}"));

            var result = PruningView.Run(context.Console, model.Name, progress =>
                new BudgetPruner(options).Prune(model, train, val, splits.Test, progress, cancellation)) with { ValidationSplit = validationSplit.ToString() };

            string outPath = parse.GetValue(output)!;
            bool sparse = parse.GetValue(sparseStorage);
            OnnxExporter.Export(model, outPath, SplitOptions.Recording(validationSplit, sparse));
            PruningView.ShowReport(context.Console, result);
            context.Console.MarkupLine(Markup.Escape($"model written to {outPath}: {new FileInfo(outPath).Length:N0} bytes ({(sparse ? "sparse" : "dense")} storage)"));
            if (parse.GetValue(report) is { } dir)
            {
                PruningReportWriter.WriteAll(result, OnnxImporter.Load(path), model, dir);
                context.Console.MarkupLine($"report written to [bold]{Markup.Escape(dir)}[/]");
            }
            return Task.FromResult(0);
        });
        return command;
    }
}
