using System.CommandLine;
using Shears.Nn;
using Shears.Onnx;
using Shears.Tensors;
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
            if (parse.GetValue(maskZeros)) MaskZeros(model);
            var metadata = OnnxImporter.ReadMetadata(path)
                .Where(e => e.Key is not (OnnxExporter.ModelNameKey or OnnxExporter.MaskedParametersKey))
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

    /// <summary>Masks every prunable weight that has no mask yet as weight ≠ 0.</summary>
    internal static void MaskZeros(Sequential model)
    {
        foreach (var p in model.PrunableParameters)
        {
            if (p.Mask is not null) continue;
            var mask = new Tensor(p.Value.Shape.ToArray());
            var values = p.Value.ReadOnlySpan;
            var keep = mask.Span;
            for (int i = 0; i < values.Length; i++) keep[i] = values[i] != 0f ? 1f : 0f;
            p.SetMask(mask);
        }
    }
}
