using Google.Protobuf;
using Shears.Nn;
using Shears.Onnx;
using Shears.Onnx.Proto;
using static Shears.Tests.Onnx.OnnxTestSupport;

namespace Shears.Tests.Onnx;

public sealed class OnnxRoundTripTests
{
    public static TheoryData<string> ZooNames => new() { "fcn1", "fcn2", "cnn3" };

    [Theory]
    [MemberData(nameof(ZooNames))]
    public void Exported_zoo_model_imports_with_identical_structure_parameters_and_logits(string name)
    {
        var model = ZooModel(name, seed: 7);
        string dir = TempFolder();
        try
        {
            string path = Path.Combine(dir, name + ".onnx");
            OnnxExporter.Export(model, path);
            var loaded = OnnxImporter.Load(path);

            Assert.Equal(model.Name, loaded.Name);
            Assert.Equal(model.InputShape, loaded.InputShape);
            Assert.Equal(model.OutputShape, loaded.OutputShape);
            Assert.Equal(model.Layers.Select(l => (l.Name, l.GetType())), loaded.Layers.Select(l => (l.Name, l.GetType())));
            Assert.Equal(model.Parameters.Select(p => p.Name), loaded.Parameters.Select(p => p.Name));
            foreach (var (a, b) in model.Parameters.Zip(loaded.Parameters))
            {
                Assert.True(a.Value.ShapeEquals(b.Value.Shape), $"{a.Name}: {a.Value} vs {b.Value}");
                Assert.True(a.Value.ReadOnlySpan.SequenceEqual(b.Value.ReadOnlySpan), $"{a.Name} values differ");
                Assert.Null(b.Mask);
            }

            var input = RandomInput(model.InputShape, batch: 5, seed: 11);
            var expected = Logits(model, input);
            var actual = Logits(loaded, input);
            Assert.Equal(expected, actual); // same weights, same kernels: bit for bit
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Exported_conv_layers_keep_kernel_padding_and_stride()
    {
        var model = new Sequential("strided", [3, 9, 9],
            new Conv2d("c1", 3, 4, 5, padding: 2, stride: 2), new Relu("r"), new MaxPool2d("p", 2, 1),
            new Flatten("f"), new Linear("fc", 4 * 4 * 4, 3));
        var rng = new Random(3);
        foreach (var p in model.Parameters) RandomFloats(rng, p.Count).CopyTo(p.Value.Span);

        var loaded = OnnxImporter.Load(OnnxExporter.ToBytes(model), "strided.onnx");

        var conv = Assert.IsType<Conv2d>(loaded.Layers[0]);
        Assert.Equal((3, 4, 5, 2, 2), (conv.InChannels, conv.OutChannels, conv.Kernel, conv.Padding, conv.Stride));
        var pool = Assert.IsType<MaxPool2d>(loaded.Layers[2]);
        Assert.Equal((2, 1), (pool.Kernel, pool.Stride));
        var input = RandomInput(model.InputShape, 3, 5);
        Assert.Equal(Logits(model, input), Logits(loaded, input));
    }

    [Fact]
    public void Export_writes_opset_13_ir_8_producer_named_graph_ends_and_raw_little_endian_weights()
    {
        var model = ZooModel("fcn2", 1);
        var proto = ModelProto.Parser.ParseFrom(OnnxExporter.ToBytes(model));

        Assert.Equal(8, proto.IrVersion);
        Assert.Equal("shears", proto.ProducerName);
        var opset = Assert.Single(proto.OpsetImport);
        Assert.Equal(("", 13L), (opset.Domain, opset.Version));
        Assert.Contains(proto.MetadataProps, p => p.Key == "shears.model" && p.Value == "fcn2");
        Assert.DoesNotContain(proto.MetadataProps, p => p.Key == "shears.masked");

        var input = Assert.Single(proto.Graph.Input);
        Assert.Equal("input", input.Name);
        Assert.Equal("batch", input.Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal([1L, 28, 28], input.Type.TensorType.Shape.Dim.Skip(1).Select(d => d.DimValue));
        var output = Assert.Single(proto.Graph.Output);
        Assert.Equal("logits", output.Name);
        Assert.Equal("batch", output.Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal(10, output.Type.TensorType.Shape.Dim[1].DimValue);

        Assert.Equal(["Flatten", "Gemm", "Relu", "Gemm", "Relu", "Gemm"], proto.Graph.Node.Select(n => n.OpType));
        var gemm = proto.Graph.Node[1];
        Assert.Equal(["fc1"], proto.Graph.Node[2].Input); // values are named after the layers that make them
        Assert.Equal(["relu1"], proto.Graph.Node[2].Output);
        Assert.Equal("fc1", gemm.Name);
        Assert.Equal(["flatten", "fc1.weight", "fc1.bias"], gemm.Input);
        Assert.Equal(1, gemm.Attribute.Single(a => a.Name == "transB").I);
        Assert.Equal(1, proto.Graph.Node[0].Attribute.Single(a => a.Name == "axis").I);

        var w = proto.Graph.Initializer.Single(t => t.Name == "fc1.weight");
        Assert.Equal([300L, 784], w.Dims);
        Assert.Equal(1, w.DataType);
        Assert.Empty(w.FloatData);
        var raw = w.RawData.ToByteArray();
        var expected = model.GetParameter("fc1.weight").Value.ReadOnlySpan;
        Assert.Equal(expected.Length * 4, raw.Length);
        for (int i = 0; i < expected.Length; i += 997)
            Assert.Equal(expected[i], System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(raw.AsSpan(i * 4)));
    }

    [Fact]
    public void Export_to_a_path_replaces_an_existing_file_whole()
    {
        string dir = TempFolder();
        try
        {
            string path = Path.Combine(dir, "m.onnx");
            File.WriteAllBytes(path, new byte[5_000_000]);
            var model = ZooModel("fcn1", 2);
            OnnxExporter.Export(model, path);
            Assert.Equal(OnnxExporter.ToBytes(model), File.ReadAllBytes(path));
            Assert.Single(Directory.GetFiles(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Export_refuses_a_layer_it_has_no_operator_for()
    {
        var model = new Sequential("odd", [4], new Linear("fc", 4, 2), new Doubler("twice"));
        var e = Assert.Throws<ArgumentException>(() => OnnxExporter.ToBytes(model));
        Assert.Contains("twice", e.Message);
        Assert.Contains(nameof(Doubler), e.Message);
    }

    private sealed class Doubler(string name) : Layer(name)
    {
        public override int[] OutputShape(ReadOnlySpan<int> inputShape) => inputShape.ToArray();
        public override Tensor Forward(Tensor input, bool training) => input;
        public override Tensor? Backward(Tensor outputGradient, bool needInputGradient) => outputGradient;
    }
}
