using Google.Protobuf;
using Shears.Onnx;
using Shears.Onnx.Proto;
using static Shears.Tests.Onnx.OnnxTestSupport;

namespace Shears.Tests.Onnx;

/// <summary>Bad files give typed exceptions whose message names the file, the node where there is one, and the problem.</summary>
public sealed class OnnxImportErrorTests : IDisposable
{
    private readonly string _dir = TempFolder();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void Random_bytes_give_an_onnx_format_exception_naming_the_file()
    {
        var bytes = new byte[4096];
        new Random(1).NextBytes(bytes);
        string path = Write("noise.onnx", bytes);

        var e = Assert.Throws<OnnxFormatException>(() => OnnxImporter.Load(path));

        Assert.Equal(path, e.FilePath);
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains("not an ONNX model", e.Message);
        Assert.IsAssignableFrom<ShearsException>(e);
    }

    [Fact]
    public void Many_random_byte_strings_all_give_onnx_format_exceptions_and_nothing_else()
    {
        var rng = new Random(2);
        for (int trial = 0; trial < 2000; trial++)
        {
            var bytes = new byte[rng.Next(1, 300)];
            rng.NextBytes(bytes);
            var e = Record.Exception(() => OnnxImporter.Load(bytes, "fuzz.onnx"));
            Assert.True(e is OnnxFormatException, $"trial {trial}: {e?.GetType().Name}: {e?.Message}");
        }
    }

    [Fact]
    public void An_empty_file_gives_an_onnx_format_exception_that_says_it_is_empty()
    {
        string path = Write("empty.onnx", []);
        var e = Assert.Throws<OnnxFormatException>(() => OnnxImporter.Load(path));
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains("empty", e.Message);
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.9)]
    [InlineData(0.999)]
    public void A_truncated_valid_file_gives_an_onnx_format_exception_naming_the_file(double keep)
    {
        var bytes = OnnxExporter.ToBytes(ZooModel("fcn2", 3));
        string path = Write("cut.onnx", bytes.AsSpan(0, (int)(bytes.Length * keep)).ToArray());

        var e = Assert.Throws<OnnxFormatException>(() => OnnxImporter.Load(path));

        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void A_missing_file_gives_a_shears_exception_naming_it()
    {
        string path = Path.Combine(_dir, "absent.onnx");
        var e = Assert.Throws<ShearsException>(() => OnnxImporter.Load(path));
        Assert.StartsWith(path + ": ", e.Message);
    }

    [Theory]
    [InlineData("Softmax")]
    [InlineData("LSTM")]
    public void An_operator_shears_lacks_gives_an_unsupported_operator_exception_naming_op_node_and_file(string op)
    {
        var model = LinearModel();
        model.Graph.Node[0].Output[0] = "h";
        model.Graph.Node.Add(Node(op, "the_" + op.ToLowerInvariant(), ["h"], "y"));
        string path = Write("with-" + op + ".onnx", Bytes(model));

        var e = Assert.Throws<UnsupportedOperatorException>(() => OnnxImporter.Load(path));

        Assert.Equal(op, e.OpType);
        Assert.Equal("the_" + op.ToLowerInvariant(), e.NodeName);
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains($"'{op}'", e.Message);
        Assert.Contains("the_" + op.ToLowerInvariant(), e.Message);
        Assert.IsAssignableFrom<ShearsException>(e);
    }

    [Fact]
    public void An_operator_from_another_domain_is_unsupported()
    {
        var model = LinearModel();
        model.Graph.Node[0].Domain = "com.microsoft";
        var e = Assert.Throws<UnsupportedOperatorException>(() => OnnxImporter.Load(Bytes(model), "ms.onnx"));
        Assert.Contains("com.microsoft", e.Message);
    }

    [Fact]
    public void A_grouped_convolution_gives_an_unsupported_model_exception_naming_file_node_and_group()
    {
        var model = NewModel([0, 4, 6, 6]);
        var rng = new Random(4);
        model.Graph.Initializer.Add(Floats("w", [4, 2, 3, 3], RandomFloats(rng, 72)));
        model.Graph.Node.Add(Node("Conv", "grouped_conv", ["x", "w"], "y", Ints("kernel_shape", 3, 3), Int("group", 2)));
        string path = Write("grouped.onnx", Bytes(model));

        var e = Assert.Throws<UnsupportedOnnxModelException>(() => OnnxImporter.Load(path));

        Assert.Equal("grouped_conv", e.NodeName);
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains("grouped_conv", e.Message);
        Assert.Contains("group=2", e.Message);
    }

    public static TheoryData<string, string, string> BadConvolutions => new()
    {
        { "dilations", "dilations [2, 2]", "dilated" },
        { "pads", "pads [1, 1, 0, 0]", "asymmetric" },
        { "kernel", "3×2 kernel", "rectangular" },
        { "strides", "strides [1, 2]", "uneven" },
        { "same_even", "unevenly", "same-even" },
    };

    [Theory]
    [MemberData(nameof(BadConvolutions))]
    public void A_convolution_shears_cannot_represent_is_refused_with_the_reason(string what, string expectedText, string nodeName)
    {
        var model = NewModel([0, 2, 6, 6]);
        var rng = new Random(5);
        int kw = what == "kernel" ? 2 : what == "same_even" ? 2 : 3;
        int kh = what == "same_even" ? 2 : 3;
        model.Graph.Initializer.Add(Floats("w", [3, 2, kh, kw], RandomFloats(rng, 3 * 2 * kh * kw)));
        var node = Node("Conv", nodeName, ["x", "w"], "y");
        switch (what)
        {
            case "dilations": node.Attribute.Add(Ints("dilations", 2, 2)); break;
            case "pads": node.Attribute.Add(Ints("pads", 1, 1, 0, 0)); break;
            case "strides": node.Attribute.Add(Ints("strides", 1, 2)); break;
            case "same_even": node.Attribute.Add(Str("auto_pad", "SAME_UPPER")); break;
        }
        model.Graph.Node.Add(node);

        var e = Assert.Throws<UnsupportedOnnxModelException>(() => OnnxImporter.Load(Bytes(model), "conv.onnx"));

        Assert.StartsWith("conv.onnx: ", e.Message);
        Assert.Contains(nodeName, e.Message);
        Assert.Contains(expectedText, e.Message);
    }

    [Fact]
    public void A_transposed_gemm_input_is_refused()
    {
        var model = LinearModel();
        model.Graph.Node[0].Attribute.Add(Int("transA", 1));
        var e = Assert.Throws<UnsupportedOnnxModelException>(() => OnnxImporter.Load(Bytes(model), "ta.onnx"));
        Assert.Contains("transA=1", e.Message);
        Assert.Contains("fc", e.Message);
    }

    [Fact]
    public void A_branching_graph_is_refused_as_not_a_single_chain()
    {
        // y = Relu(x) + x: a residual connection.
        var model = NewModel([0, 4]);
        model.Graph.Node.Add(Node("Relu", "r", ["x"], "h"));
        model.Graph.Node.Add(Node("Add", "residual", ["h", "x"], "y"));
        var e = Assert.Throws<UnsupportedOnnxModelException>(() => OnnxImporter.Load(Bytes(model), "res.onnx"));
        Assert.Contains("not a single chain", e.Message);
        Assert.Contains("residual", e.Message);
    }

    [Fact]
    public void An_add_that_is_not_a_bias_is_refused()
    {
        var model = NewModel([0, 4]);
        model.Graph.Initializer.Add(Floats("c", [4], [1, 2, 3, 4]));
        model.Graph.Node.Add(Node("Relu", "r", ["x"], "h"));
        model.Graph.Node.Add(Node("Add", "shift", ["h", "c"], "y"));
        var e = Assert.Throws<UnsupportedOnnxModelException>(() => OnnxImporter.Load(Bytes(model), "shift.onnx"));
        Assert.Equal("shift", e.NodeName);
        Assert.Contains("Relu 'r'", e.Message);
        Assert.Contains("bias", e.Message);
    }

    [Fact]
    public void A_graph_whose_output_is_not_at_the_end_of_the_chain_is_refused()
    {
        var model = LinearModel();
        model.Graph.Node.Add(Node("Relu", "dangling", ["x"], "z"));
        var e = Assert.Throws<UnsupportedOnnxModelException>(() => OnnxImporter.Load(Bytes(model), "dangle.onnx"));
        Assert.Contains("not a single chain", e.Message);
    }

    [Fact]
    public void A_graph_with_two_inputs_is_refused()
    {
        var model = LinearModel();
        model.Graph.Input.Add(Value("x2", [0, 3]));
        var e = Assert.Throws<UnsupportedOnnxModelException>(() => OnnxImporter.Load(Bytes(model), "two.onnx"));
        Assert.Contains("2 inputs", e.Message);
    }

    [Fact]
    public void Non_float_weights_are_refused_naming_the_tensor_and_its_type()
    {
        var model = LinearModel();
        var w = model.Graph.Initializer.Single(t => t.Name == "w");
        w.DataType = 11; // double
        w.RawData = ByteString.CopyFrom(new byte[w.RawData.Length * 2]);
        var e = Assert.Throws<UnsupportedOnnxModelException>(() => OnnxImporter.Load(Bytes(model), "double.onnx"));
        Assert.Contains("'w'", e.Message);
        Assert.Contains("double", e.Message);
        Assert.Equal("fc", e.NodeName);
    }

    [Fact]
    public void Weights_in_an_external_file_are_refused()
    {
        var model = LinearModel();
        var w = model.Graph.Initializer.Single(t => t.Name == "w");
        w.RawData = ByteString.Empty;
        w.DataLocation = 1;
        w.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "weights.bin" });
        var e = Assert.Throws<UnsupportedOnnxModelException>(() => OnnxImporter.Load(Bytes(model), "ext.onnx"));
        Assert.Contains("external", e.Message);
    }

    [Fact]
    public void A_weight_whose_bytes_do_not_fit_its_shape_is_a_format_error()
    {
        var model = LinearModel();
        var w = model.Graph.Initializer.Single(t => t.Name == "w");
        w.RawData = ByteString.CopyFrom(w.RawData.Span[..^4]);
        var e = Assert.Throws<OnnxFormatException>(() => OnnxImporter.Load(Bytes(model), "short.onnx"));
        Assert.Contains("'w'", e.Message);
        Assert.Contains("raw_data", e.Message);
    }

    [Fact]
    public void A_weight_with_a_zero_sized_axis_is_a_format_error_naming_the_node()
    {
        var model = LinearModel();
        var w = model.Graph.Initializer.Single(t => t.Name == "w");
        model.Graph.Initializer.Remove(w);
        model.Graph.Initializer.Add(Floats("w", [0, 3], []));
        var e = Assert.Throws<OnnxFormatException>(() => OnnxImporter.Load(Bytes(model), "zero.onnx"));
        Assert.Equal("fc", e.NodeName);
        Assert.Contains("valid layer", e.Message);
    }

    [Fact]
    public void A_model_without_a_default_opset_is_a_format_error()
    {
        var model = LinearModel();
        model.OpsetImport.Clear();
        var e = Assert.Throws<OnnxFormatException>(() => OnnxImporter.Load(Bytes(model), "noopset.onnx"));
        Assert.Contains("opset", e.Message);
    }

    [Fact]
    public void Mask_metadata_naming_a_parameter_the_graph_lacks_is_a_format_error()
    {
        var model = LinearModel();
        model.MetadataProps.Add(new StringStringEntryProto { Key = "shears.masked", Value = "fc.weight,ghost.weight" });
        var e = Assert.Throws<OnnxFormatException>(() => OnnxImporter.Load(Bytes(model), "ghost.onnx"));
        Assert.Contains("ghost.weight", e.Message);
    }

    /// <summary>x [N, 3] → Gemm "fc" (w [2, 3], transB=1, b [2]) → y.</summary>
    private static ModelProto LinearModel()
    {
        var model = NewModel([0, 3]);
        var rng = new Random(6);
        model.Graph.Initializer.Add(Floats("w", [2, 3], RandomFloats(rng, 6)));
        model.Graph.Initializer.Add(Floats("b", [2], RandomFloats(rng, 2)));
        model.Graph.Node.Add(Node("Gemm", "fc", ["x", "w", "b"], "y", Int("transB", 1)));
        return model;
    }
}
