using Shears.Models;
using Shears.Nn;
using Shears.Onnx;

namespace Shears.Benchmarks;

/// <summary>The model a profiling run names: a file (a pruned one, say) with its weights and masks, or a zoo name with fresh weights.</summary>
public static class BenchModel
{
    public static Sequential Load(string model) =>
        model.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) ? OnnxImporter.Load(model) : ModelZoo.Create(model, seed: 1);
}
