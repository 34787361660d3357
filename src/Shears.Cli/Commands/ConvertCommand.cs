using System.CommandLine;
using Shears.Onnx;
using Spectre.Console;

namespace Shears.Cli.Commands;

/// <summary>
/// `shears convert`: re-stores a model without changing it: dense initializers, or with `--sparse-storage` the
/// pruned weights as ONNX sparse initializers. A model pruned earlier gets the smaller file without pruning it
/// again; `--mask-zeros` treats exact zeros as pruned connections, for pruned files from other tools, which carry
/// no masks. The file's own metadata (the validation split it was trained with, say) is kept.
/// </summary>
internal static class ConvertCommand
{
    public static Command Create(CliContext context)
    {
        var modelPath = new Argument<string>("model") { Description = "ONNX model file." };
        var output = new Option<string>("--out") { Description = "Where to write the model (ONNX).", Required = true };
        var sparseStorage = new Option<bool>("--sparse-storage") { Description = "Store the pruned weights as ONNX sparse initializers (kept values and their int64 indices); without it, every weight is stored dense." };
        var maskZeros = new Option<bool>("--mask-zeros") { Description = "Treat exact zeros in weights that carry no mask as pruned connections (files pruned by other tools)." };
        var command = new Command("convert", "Write a model again, with its pruned weights stored sparse (--sparse-storage) or dense.") { modelPath, output, sparseStorage, maskZeros };
        command.SetAction((parse, cancellation) =>
        {
            string path = parse.GetValue(modelPath)!, outPath = parse.GetValue(output)!;
            var model = OnnxImporter.Load(path);
            if (parse.GetValue(maskZeros))
                foreach (var p in model.PrunableParameters.Where(p => p.Mask is null)) p.MaskZeros();
            var metadata = OnnxImporter.ReadMetadata(path)
                .Where(e => !OnnxExporter.WritesItself(e.Key))
                .ToDictionary(e => e.Key, e => e.Value);
            bool sparse = parse.GetValue(sparseStorage);
            OnnxExporter.Export(model, outPath, new OnnxExportOptions { Metadata = metadata, SparseMaskedWeights = sparse });
            var (total, kept) = model.Connections();
            context.Console.MarkupLine(Markup.Escape(
                $"{outPath}: {new FileInfo(outPath).Length:N0} bytes ({(sparse ? "sparse" : "dense")} storage; {path} is {new FileInfo(path).Length:N0}); " +
                $"{kept:N0} of {total:N0} connections kept"));
            return Task.FromResult(0);
        });
        return command;
    }
}
