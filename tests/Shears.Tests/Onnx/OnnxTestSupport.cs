using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Shears.Models;
using Shears.Nn;
using Shears.Onnx;
using Shears.Onnx.Proto;

namespace Shears.Tests.Onnx;

/// <summary>Seeded models and inputs, ONNX Runtime runs, and hand-built ONNX graphs for the importer tests.</summary>
internal static class OnnxTestSupport
{
    /// <summary>A zoo model with seeded He-uniform weights and seeded non-zero biases (so bias handling is tested too).</summary>
    public static Sequential ZooModel(string name, int seed)
    {
        var model = ModelZoo.Create(name, seed);
        var rng = new Random(seed + 1000);
        foreach (var p in model.Parameters.Where(p => !p.Prunable))
        {
            var span = p.Value.Span;
            for (int i = 0; i < span.Length; i++) span[i] = (float)(rng.NextDouble() * 0.2 - 0.1);
        }
        return model;
    }

    /// <summary>Uniform [0, 1) inputs of shape [batch, ...sampleShape].</summary>
    public static Tensor RandomInput(int[] sampleShape, int batch, int seed)
    {
        var shape = new int[sampleShape.Length + 1];
        shape[0] = batch;
        sampleShape.CopyTo(shape, 1);
        var t = new Tensor(shape);
        var rng = new Random(seed);
        var span = t.Span;
        for (int i = 0; i < span.Length; i++) span[i] = (float)rng.NextDouble();
        return t;
    }

    /// <summary>Shears' inference logits, copied out of the layer's workspace.</summary>
    public static float[] Logits(Sequential model, Tensor input) => model.Forward(input, training: false).ReadOnlySpan.ToArray();

    /// <summary>Runs the model bytes in ONNX Runtime on the input and returns the single output, flattened.</summary>
    public static float[] RunOnnxRuntime(byte[] modelBytes, Tensor input, string inputName = "input")
    {
        using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        using var session = new InferenceSession(modelBytes, options);
        var dense = new DenseTensor<float>(input.ReadOnlySpan.ToArray(), input.Shape.ToArray());
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(inputName, dense)]);
        Assert.Single(results);
        return results.First().AsEnumerable<float>().ToArray();
    }

    public static int[] Argmax(float[] logits, int classes)
    {
        var result = new int[logits.Length / classes];
        for (int r = 0; r < result.Length; r++)
        {
            int best = 0;
            for (int c = 1; c < classes; c++) if (logits[r * classes + c] > logits[r * classes + best]) best = c;
            result[r] = best;
        }
        return result;
    }

    /// <summary>A fresh file path in a per-test temporary folder; the caller deletes the folder.</summary>
    public static string TempFolder()
    {
        string dir = Path.Combine(Path.GetTempPath(), "shears-onnx-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    // ----------------------------------------------------------------------- hand-built graphs

    /// <summary>A model proto with one float input [dims...] (0 = symbolic batch) and one output, opset 13.</summary>
    public static ModelProto NewModel(long[] inputDims, string inputName = "x", string outputName = "y", long opset = 13)
    {
        var graph = new GraphProto { Name = "handmade" };
        graph.Input.Add(Value(inputName, inputDims));
        graph.Output.Add(new ValueInfoProto { Name = outputName, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1 } } });
        var model = new ModelProto { IrVersion = 7, ProducerName = "handmade", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return model;
    }

    public static ValueInfoProto Value(string name, long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (long d in dims)
            shape.Dim.Add(d == 0 ? new TensorShapeProto.Types.Dimension { DimParam = "N" } : new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shape } } };
    }

    public static NodeProto Node(string op, string name, string[] inputs, string output, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = name };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        return node;
    }

    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    public static AttributeProto Str(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    /// <summary>A float initializer in raw_data (the default) or float_data.</summary>
    public static TensorProto Floats(string name, int[] shape, float[] values, bool asFloatData = false)
    {
        if (!asFloatData) return OnnxCodec.FloatTensor(name, shape, values);
        var t = new TensorProto { Name = name, DataType = 1 };
        foreach (int d in shape) t.Dims.Add(d);
        t.FloatData.AddRange(values);
        return t;
    }

    public static TensorProto Int64s(string name, params long[] values)
    {
        var t = new TensorProto { Name = name, DataType = 7 };
        t.Dims.Add(values.Length);
        t.Int64Data.AddRange(values);
        return t;
    }

    public static float[] RandomFloats(Random rng, int count)
    {
        var v = new float[count];
        for (int i = 0; i < count; i++) v[i] = (float)(rng.NextDouble() * 2 - 1);
        return v;
    }

    public static byte[] Bytes(ModelProto model) => model.ToByteArray();
}
