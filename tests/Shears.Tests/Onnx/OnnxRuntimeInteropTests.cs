using Shears.Nn;
using Shears.Onnx;
using Shears.Onnx.Proto;
using Shears.Tests.TestSupport;
using static Shears.Tests.Onnx.OnnxTestSupport;

namespace Shears.Tests.Onnx;

/// <summary>ONNX Runtime is the reference reader: what Shears writes must load there and compute what Shears computes.</summary>
public sealed class OnnxRuntimeInteropTests
{
    private const double Atol = 1e-4;

    public static TheoryData<string> ZooNames => new() { "fcn1", "fcn2", "cnn3" };

    [Theory]
    [MemberData(nameof(ZooNames))]
    public void Onnx_runtime_computes_the_same_logits_as_shears_for_an_exported_zoo_model(string name)
    {
        var model = ZooModel(name, seed: 21);
        var input = RandomInput(model.InputShape, batch: 7, seed: 22);
        var expected = Logits(model, input);

        var actual = RunOnnxRuntime(OnnxExporter.ToBytes(model), input);

        Assert.Equal(7 * 10, actual.Length);
        Tolerance.AssertClose(actual, expected, Atol, 0);
    }

    [Theory]
    [MemberData(nameof(ZooNames))]
    public void A_masked_model_exports_exact_zeros_imports_its_masks_and_predicts_alike_in_onnx_runtime(string name)
    {
        var model = ZooModel(name, seed: 31);
        var rng = new Random(32);
        foreach (var p in model.PrunableParameters) p.SetMask(RandomMask(p, rng, keep: 0.3));
        var input = RandomInput(model.InputShape, batch: 7, seed: 33);
        var expected = Logits(model, input);

        var bytes = OnnxExporter.ToBytes(model);

        // The file itself: pruned entries are exact +0, the rest are the weights, and the masked names are listed.
        var proto = ModelProto.Parser.ParseFrom(bytes);
        var listed = proto.MetadataProps.Single(m => m.Key == OnnxExporter.MaskedParametersKey).Value.Split(',');
        Assert.Equal(model.PrunableParameters.Select(p => p.Name), listed);
        foreach (var p in model.PrunableParameters)
        {
            var stored = OnnxCodec.ReadFloats(proto.Graph.Initializer.Single(t => t.Name == p.Name), "test", null);
            var mask = p.Mask!.ReadOnlySpan;
            var value = p.Value.ReadOnlySpan;
            for (int i = 0; i < stored.Length; i++)
            {
                if (mask[i] == 0f) Assert.Equal(0, BitConverter.SingleToInt32Bits(stored[i]));
                else Assert.Equal(value[i], stored[i]);
            }
        }

        // Import: the same values, and masks equal to the originals.
        var loaded = OnnxImporter.Load(bytes, name + ".onnx");
        foreach (var (a, b) in model.Parameters.Zip(loaded.Parameters))
        {
            Assert.True(a.Value.ReadOnlySpan.SequenceEqual(b.Value.ReadOnlySpan), $"{a.Name} values differ");
            if (a.Mask is null) Assert.Null(b.Mask);
            else Assert.True(a.Mask.ReadOnlySpan.SequenceEqual(b.Mask!.ReadOnlySpan), $"{a.Name} mask differs");
        }
        Assert.Equal(model.Connections(), loaded.Connections());
        Assert.Equal(expected, Logits(loaded, input));

        // ONNX Runtime: same logits, same predictions.
        var ort = RunOnnxRuntime(bytes, input);
        Tolerance.AssertClose(ort, expected, Atol, 0);
        Assert.Equal(Argmax(expected, 10), Argmax(ort, 10));
    }

    [Theory]
    [MemberData(nameof(ZooNames))]
    public void Sparse_export_writes_pruned_weights_as_sparse_initializers_that_onnx_runtime_and_shears_load(string name)
    {
        var model = ZooModel(name, seed: 41);
        var rng = new Random(42);
        foreach (var p in model.PrunableParameters) p.SetMask(RandomMask(p, rng, keep: 0.1));
        var input = RandomInput(model.InputShape, batch: 7, seed: 43);
        var expected = Logits(model, input);

        var dense = OnnxExporter.ToBytes(model);
        var sparse = OnnxExporter.ToBytes(model, new OnnxExportOptions { SparseMaskedWeights = true });

        var proto = ModelProto.Parser.ParseFrom(sparse);
        Assert.Equal(model.PrunableParameters.Select(p => p.Name).Order(), proto.Graph.SparseInitializer.Select(s => s.Values.Name).Order());
        Assert.DoesNotContain(proto.Graph.Initializer, t => model.PrunableParameters.Any(p => p.Name == t.Name));
        Assert.True(sparse.Length < dense.Length / 2, $"sparse {sparse.Length} bytes vs dense {dense.Length}");

        var loaded = OnnxImporter.Load(sparse, name + "-sparse.onnx");
        foreach (var (a, b) in model.Parameters.Zip(loaded.Parameters))
        {
            Assert.True(a.Value.ReadOnlySpan.SequenceEqual(b.Value.ReadOnlySpan), $"{a.Name} values differ");
            Assert.Equal(a.Mask is null, b.Mask is null);
        }
        Assert.Equal(expected, Logits(loaded, input));

        var ort = RunOnnxRuntime(sparse, input);
        Tolerance.AssertClose(ort, expected, Atol, 0);
    }

    [Fact]
    public void Onnx_runtime_runs_an_exported_model_at_batch_sizes_other_than_the_one_tested()
    {
        var model = ZooModel("cnn3", seed: 51);
        var bytes = OnnxExporter.ToBytes(model);
        foreach (int batch in new[] { 1, 3 })
        {
            var input = RandomInput(model.InputShape, batch, seed: 52 + batch);
            Tolerance.AssertClose(RunOnnxRuntime(bytes, input), Logits(model, input), Atol, 0);
        }
    }

    private static Tensor RandomMask(Parameter p, Random rng, double keep)
    {
        var mask = new Tensor(p.Value.Shape.ToArray());
        var m = mask.Span;
        for (int i = 0; i < m.Length; i++) m[i] = rng.NextDouble() < keep ? 1f : 0f;
        return mask;
    }
}
