using Shears.Nn;
using Shears.Onnx;
using Shears.Onnx.Proto;
using Shears.Tests.TestSupport;
using static Shears.Tests.Onnx.OnnxTestSupport;

namespace Shears.Tests.Onnx;

/// <summary>
/// Graphs written the way other tools write them (hand-built here): each must import and compute what ONNX
/// Runtime computes for the very same bytes.
/// </summary>
public sealed class OnnxForeignImportTests
{
    private const double Atol = 1e-4;
    private const double Rtol = 1e-4;

    private static Sequential ImportAndCompareWithOnnxRuntime(ModelProto proto, string inputName = "x", int batch = 4)
    {
        var bytes = Bytes(proto);
        var model = OnnxImporter.Load(bytes, "foreign.onnx");
        var input = RandomInput(model.InputShape, batch, seed: 99);
        Tolerance.AssertClose(Logits(model, input), RunOnnxRuntime(bytes, input, inputName), Atol, Rtol);
        return model;
    }

    [Fact]
    public void Matmul_followed_by_add_becomes_one_linear_layer_with_the_transposed_weight_and_the_bias()
    {
        var rng = new Random(1);
        var proto = NewModel([0, 6]);
        var w = RandomFloats(rng, 6 * 4);
        proto.Graph.Initializer.Add(Floats("W", [6, 4], w));
        proto.Graph.Initializer.Add(Floats("B", [4], RandomFloats(rng, 4)));
        proto.Graph.Node.Add(Node("MatMul", "mm", ["x", "W"], "h"));
        proto.Graph.Node.Add(Node("Add", "bias", ["h", "B"], "y"));

        var model = ImportAndCompareWithOnnxRuntime(proto);

        var linear = Assert.IsType<Linear>(Assert.Single(model.Layers));
        Assert.Equal("mm", linear.Name);
        Assert.Equal([6], model.InputShape);
        Assert.Equal(w[1 * 4 + 2], linear.Weight.Value[2, 1]); // W[in=1, out=2] is Weight[out=2, in=1]
    }

    [Fact]
    public void Bias_added_before_the_matmul_result_is_read_as_well()
    {
        var rng = new Random(2);
        var proto = NewModel([0, 5]);
        proto.Graph.Initializer.Add(Floats("W", [5, 3], RandomFloats(rng, 15)));
        proto.Graph.Initializer.Add(Floats("B", [1, 3], RandomFloats(rng, 3)));
        proto.Graph.Node.Add(Node("MatMul", "", ["x", "W"], "h"));
        proto.Graph.Node.Add(Node("Add", "", ["B", "h"], "y"));
        var model = ImportAndCompareWithOnnxRuntime(proto);
        Assert.Equal(["matmul1.weight", "matmul1.bias"], model.Parameters.Select(p => p.Name));
    }

    [Fact]
    public void Gemm_without_transposed_weight_or_bias_and_with_alpha_beta_imports()
    {
        var rng = new Random(3);
        var proto = NewModel([0, 5]);
        proto.Graph.Initializer.Add(Floats("W1", [5, 4], RandomFloats(rng, 20), asFloatData: true));
        proto.Graph.Initializer.Add(Floats("W2", [3, 4], RandomFloats(rng, 12)));
        proto.Graph.Initializer.Add(Floats("C2", [3], RandomFloats(rng, 3), asFloatData: true));
        proto.Graph.Node.Add(Node("Gemm", "g1", ["x", "W1"], "h1"));
        proto.Graph.Node.Add(Node("Relu", "r", ["h1"], "h2"));
        proto.Graph.Node.Add(Node("Gemm", "g2", ["h2", "W2", "C2"], "y", Int("transB", 1), Float("alpha", 0.5f), Float("beta", 2f)));

        var model = ImportAndCompareWithOnnxRuntime(proto);

        Assert.Equal(["g1", "r", "g2"], model.Layers.Select(l => l.Name));
        Assert.All(model.GetParameter("g1.bias").Value.ReadOnlySpan.ToArray(), b => Assert.Equal(0f, b));
    }

    [Fact]
    public void Reshape_flattens_with_shapes_from_an_initializer_or_a_constant_node()
    {
        foreach (long[] target in new[] { new long[] { -1, 48 }, [0, -1], [0, 48], [1, 48] })
        foreach (bool fromConstant in new[] { false, true })
        {
            var rng = new Random(4);
            var proto = NewModel([0, 3, 4, 4]);
            if (fromConstant)
            {
                var c = Node("Constant", "shape_const", [], "shape");
                c.Attribute.Add(new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = Int64s("", target) });
                proto.Graph.Node.Add(c);
            }
            else
            {
                proto.Graph.Initializer.Add(Int64s("shape", target));
            }
            proto.Graph.Initializer.Add(Floats("W", [2, 48], RandomFloats(rng, 96)));
            proto.Graph.Node.Add(Node("Reshape", "reshape", ["x", "shape"], "flat"));
            proto.Graph.Node.Add(Node("Gemm", "fc", ["flat", "W"], "y", Int("transB", 1)));

            var model = ImportAndCompareWithOnnxRuntime(proto, batch: target[0] == 1 ? 1 : 4);

            Assert.IsType<Flatten>(model.Layers[0]);
        }
    }

    [Fact]
    public void A_reshape_that_is_not_a_flatten_is_refused()
    {
        var proto = NewModel([0, 3, 4, 4]);
        proto.Graph.Initializer.Add(Int64s("shape", 0, 3, 16));
        proto.Graph.Node.Add(Node("Reshape", "r3", ["x", "shape"], "y"));
        var e = Assert.Throws<UnsupportedOnnxModelException>(() => OnnxImporter.Load(Bytes(proto), "reshape.onnx"));
        Assert.Contains("r3", e.Message);
        Assert.Contains("[0, 3, 16]", e.Message);
    }

    [Fact]
    public void Identity_dropout_and_initializers_listed_as_inputs_are_taken_as_older_exporters_mean_them()
    {
        var rng = new Random(5);
        var proto = NewModel([0, 1, 8, 8]);
        proto.IrVersion = 3;
        proto.OpsetImport[0].Version = 9;
        proto.Graph.Initializer.Add(Floats("conv.w", [2, 1, 3, 3], RandomFloats(rng, 18)));
        proto.Graph.Initializer.Add(Floats("conv.b", [2], RandomFloats(rng, 2)));
        proto.Graph.Initializer.Add(Floats("fc.w", [3, 8], RandomFloats(rng, 24))); // 2 channels × 2 × 2 after conv (stride 2) and pool
        proto.Graph.Initializer.Add(Floats("fc.b", [3], RandomFloats(rng, 3)));
        foreach (var t in proto.Graph.Initializer) proto.Graph.Input.Add(Value(t.Name, t.Dims.ToArray()));
        proto.Graph.Node.Add(Node("Conv", "conv", ["x", "conv.w", "conv.b"], "c", Ints("kernel_shape", 3, 3), Ints("pads", 1, 1, 1, 1), Ints("strides", 2, 2)));
        proto.Graph.Node.Add(Node("Identity", "id", ["c"], "c2"));
        proto.Graph.Node.Add(Node("Relu", "relu", ["c2"], "r"));
        var dropout = Node("Dropout", "drop", ["r"], "d");
        dropout.Output.Add("drop_mask"); // an unused second output
        proto.Graph.Node.Add(dropout);
        proto.Graph.Node.Add(Node("MaxPool", "pool", ["d"], "p", Ints("kernel_shape", 2, 2), Ints("strides", 2, 2)));
        proto.Graph.Node.Add(Node("Flatten", "flat", ["p"], "f"));
        proto.Graph.Node.Add(Node("Gemm", "fc", ["f", "fc.w", "fc.b"], "y", Int("transB", 1)));

        var model = ImportAndCompareWithOnnxRuntime(proto);

        Assert.Equal([1, 8, 8], model.InputShape);
        Assert.Equal(["conv", "relu", "pool", "flat", "fc"], model.Layers.Select(l => l.Name));
        var conv = Assert.IsType<Conv2d>(model.Layers[0]);
        Assert.Equal((3, 1, 2), (conv.Kernel, conv.Padding, conv.Stride));
    }

    [Fact]
    public void Same_upper_padding_of_an_odd_kernel_and_a_channel_bias_add_import()
    {
        var rng = new Random(6);
        var proto = NewModel([0, 2, 7, 7]);
        proto.Graph.Initializer.Add(Floats("w", [3, 2, 5, 5], RandomFloats(rng, 150)));
        proto.Graph.Initializer.Add(Floats("b", [1, 3, 1, 1], RandomFloats(rng, 3)));
        proto.Graph.Initializer.Add(Floats("fc", [2, 147], RandomFloats(rng, 294)));
        proto.Graph.Node.Add(Node("Conv", "conv", ["x", "w"], "c", Str("auto_pad", "SAME_UPPER")));
        proto.Graph.Node.Add(Node("Add", "conv_bias", ["c", "b"], "cb"));
        proto.Graph.Node.Add(Node("Flatten", "flat", ["cb"], "f"));
        proto.Graph.Node.Add(Node("Gemm", "fc", ["f", "fc"], "y", Int("transB", 1)));

        var model = ImportAndCompareWithOnnxRuntime(proto);

        Assert.Equal(2, Assert.IsType<Conv2d>(model.Layers[0]).Padding);
    }

    [Fact]
    public void A_flat_input_declared_as_batch_by_features_gives_a_one_dimensional_sample_shape()
    {
        var rng = new Random(7);
        var proto = NewModel([0, 784]);
        proto.Graph.Input[0].Type.TensorType.Shape.Dim[0].DimValue = -1; // some tools write -1 for the batch
        proto.Graph.Initializer.Add(Floats("W", [10, 784], RandomFloats(rng, 7840)));
        proto.Graph.Node.Add(Node("Gemm", "fc", ["x", "W"], "y", Int("transB", 1)));
        var model = ImportAndCompareWithOnnxRuntime(proto);
        Assert.Equal([784], model.InputShape);
    }

    [Fact]
    public void Nodes_with_repeated_or_missing_names_get_unique_generated_layer_names()
    {
        var rng = new Random(8);
        var proto = NewModel([0, 4]);
        proto.Graph.Initializer.Add(Floats("W1", [4, 4], RandomFloats(rng, 16)));
        proto.Graph.Initializer.Add(Floats("W2", [4, 4], RandomFloats(rng, 16)));
        proto.Graph.Node.Add(Node("Gemm", "layer", ["x", "W1"], "a"));
        proto.Graph.Node.Add(Node("Relu", "layer", ["a"], "b"));
        proto.Graph.Node.Add(Node("Gemm", "", ["b", "W2"], "y"));

        // ONNX Runtime refuses repeated node names; Shears reads the graph all the same.
        var model = OnnxImporter.Load(Bytes(proto), "names.onnx");

        Assert.Equal(3, model.Layers.Select(l => l.Name).Distinct().Count());
        Assert.Equal(4, model.Parameters.Select(p => p.Name).Distinct().Count());
        Assert.Equal("layer", model.Layers[0].Name);
    }
}
