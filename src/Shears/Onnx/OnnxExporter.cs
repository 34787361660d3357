using Shears.Nn;
using Shears.Onnx.Proto;

namespace Shears.Onnx;

/// <summary>How <see cref="OnnxExporter"/> stores weights.</summary>
public sealed class OnnxExportOptions
{
    public static OnnxExportOptions Default { get; } = new();

    /// <summary>
    /// Writes every masked (pruned) weight as a graph <c>sparse_initializer</c> (its kept values plus int64
    /// linear indices) instead of a dense initializer. Smaller when fewer than about a third of the entries are
    /// kept; ONNX Runtime densifies them when it loads the model. Unmasked parameters stay dense.
    /// </summary>
    public bool SparseMaskedWeights { get; init; }

    /// <summary>
    /// Extra metadata_props written into the model (the validation split it was trained with, say). Keys that
    /// Shears writes itself ("shears.model", "shears.masked") are not allowed here.
    /// </summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}

/// <summary>
/// Writes a <see cref="Sequential"/> as an ONNX model (IR version 8, opset 13, producer "shears"): graph input
/// "input" [batch, ...InputShape], output "logits" [batch, ...OutputShape], one node per layer named after it —
/// Linear → Gemm(transB=1), Conv2d → Conv, Relu → Relu, MaxPool2d → MaxPool, Flatten → Flatten(axis=1) — and
/// the weights as little-endian raw_data initializers "&lt;layer&gt;.weight" / "&lt;layer&gt;.bias". Pruned entries
/// are written as exact zeros; metadata "shears.masked" lists the parameters that carry masks, so
/// <see cref="OnnxImporter"/> rebuilds each mask as weight ≠ 0 (a kept weight that is exactly zero comes back
/// pruned), and "shears.model" keeps the model's name.
/// </summary>
public static partial class OnnxExporter
{
    public const long IrVersion = 8;
    public const long OpsetVersion = 13;
    public const string ProducerName = "shears";
    public const string InputName = "input";
    public const string OutputName = "logits";
    public const string BatchDimension = "batch";

    /// <summary>Metadata key holding the model's name.</summary>
    public const string ModelNameKey = "shears.model";

    /// <summary>Metadata key holding the comma-separated names of parameters that carry masks.</summary>
    public const string MaskedParametersKey = "shears.masked";

    /// <summary>Whether the exporter writes the metadata key <paramref name="key"/> itself (so it cannot be passed in <see cref="OnnxExportOptions.Metadata"/>).</summary>
    public static bool WritesItself(string key) => key is ModelNameKey or MaskedParametersKey;

    /// <summary>Writes the model to <paramref name="path"/> atomically (readers never see a partial file).</summary>
    public static void Export(Sequential model, string path, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var bytes = ToBytes(model, options);
        AtomicFile.WriteAllBytes(path, bytes);
    }

    /// <summary>The serialized ONNX model.</summary>
    public static byte[] ToBytes(Sequential model, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return OnnxCodec.Encode(ToProto(model, options ?? OnnxExportOptions.Default));
    }

    internal static ModelProto ToProto(Sequential model, OnnxExportOptions options)
    {
        var graph = new GraphProto { Name = model.Name };
        var names = new HashSet<string>(StringComparer.Ordinal) { InputName, OutputName };
        foreach (var p in model.Parameters)
            if (!names.Add(p.Name))
                throw new ArgumentException($"Model '{model.Name}': parameter name '{p.Name}' clashes with the graph's value names.");

        graph.Input.Add(TensorValue(InputName, model.InputShape));
        graph.Output.Add(TensorValue(OutputName, model.OutputShape));

        string current = InputName;
        var layers = model.Layers;
        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            string output = i == layers.Count - 1 ? OutputName : UniqueName(names, layer.Name);
            var node = new NodeProto { Name = layer.Name };
            node.Input.Add(current);
            node.Output.Add(output);
            switch (layer)
            {
                case Linear linear:
                    node.OpType = "Gemm";
                    node.Input.Add(linear.Weight.Name);
                    node.Input.Add(linear.Bias.Name);
                    node.Attribute.Add(FloatAttribute("alpha", 1f));
                    node.Attribute.Add(FloatAttribute("beta", 1f));
                    node.Attribute.Add(IntAttribute("transB", 1));
                    AddParameter(graph, linear.Weight, options);
                    AddParameter(graph, linear.Bias, options);
                    break;
                case Conv2d conv:
                    node.OpType = "Conv";
                    node.Input.Add(conv.Weight.Name);
                    node.Input.Add(conv.Bias.Name);
                    node.Attribute.Add(IntsAttribute("kernel_shape", conv.Kernel, conv.Kernel));
                    node.Attribute.Add(IntsAttribute("pads", conv.Padding, conv.Padding, conv.Padding, conv.Padding));
                    node.Attribute.Add(IntsAttribute("strides", conv.Stride, conv.Stride));
                    node.Attribute.Add(IntsAttribute("dilations", 1, 1));
                    node.Attribute.Add(IntAttribute("group", 1));
                    AddParameter(graph, conv.Weight, options);
                    AddParameter(graph, conv.Bias, options);
                    break;
                case Relu:
                    node.OpType = "Relu";
                    break;
                case MaxPool2d pool:
                    node.OpType = "MaxPool";
                    node.Attribute.Add(IntsAttribute("kernel_shape", pool.Kernel, pool.Kernel));
                    node.Attribute.Add(IntsAttribute("strides", pool.Stride, pool.Stride));
                    node.Attribute.Add(IntsAttribute("pads", 0, 0, 0, 0));
                    break;
                case Flatten:
                    node.OpType = "Flatten";
                    node.Attribute.Add(IntAttribute("axis", 1));
                    break;
                default:
                    throw new ArgumentException(
                        $"Model '{model.Name}': layer '{layer.Name}' is a {layer.GetType().Name}, which has no ONNX export.");
            }
            graph.Node.Add(node);
            current = output;
        }

        var proto = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = ProducerName,
            ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "",
            Graph = graph,
            DocString = $"Model '{model.Name}' exported by Shears.",
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OpsetVersion });
        proto.MetadataProps.Add(new StringStringEntryProto { Key = ModelNameKey, Value = model.Name });
        var masked = model.Parameters.Where(p => p.Mask is not null).Select(p => p.Name).ToList();
        if (masked.Count > 0)
            proto.MetadataProps.Add(new StringStringEntryProto { Key = MaskedParametersKey, Value = string.Join(",", masked) });
        foreach (var (key, value) in options.Metadata ?? new Dictionary<string, string>())
        {
            if (WritesItself(key))
                throw new ArgumentException($"Metadata key '{key}' is written by the exporter itself.", nameof(options));
            proto.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        }
        return proto;
    }

    private static void AddParameter(GraphProto graph, Parameter p, OnnxExportOptions options)
    {
        var values = p.Value.ReadOnlySpan.ToArray();
        if (p.Mask is { } mask)
        {
            // Pruned entries go out as +0 whatever the value holds, so "weight ≠ 0" on import is the mask.
            var m = mask.ReadOnlySpan;
            for (int i = 0; i < values.Length; i++) if (m[i] == 0f) values[i] = 0f;
            if (options.SparseMaskedWeights)
            {
                graph.SparseInitializer.Add(SparseTensor(p.Name, p.Value.Shape, values));
                return;
            }
        }
        graph.Initializer.Add(OnnxCodec.FloatTensor(p.Name, p.Value.Shape, values));
    }

    /// <summary>Values [NNZ] and int64 linear indices [NNZ] of the non-zero entries, ascending.</summary>
    private static SparseTensorProto SparseTensor(string name, ReadOnlySpan<int> shape, float[] values)
    {
        var kept = new List<float>();
        var indices = new List<long>();
        for (int i = 0; i < values.Length; i++)
        {
            if (values[i] == 0f) continue;
            kept.Add(values[i]);
            indices.Add(i);
        }
        var sparse = new SparseTensorProto
        {
            Values = OnnxCodec.FloatTensor(name, [kept.Count], kept.ToArray()),
            Indices = OnnxCodec.Int64Tensor(name + ".indices", [indices.Count], indices.ToArray()),
        };
        foreach (int d in shape) sparse.Dims.Add(d);
        return sparse;
    }

    private static string UniqueName(HashSet<string> names, string wanted)
    {
        string name = wanted;
        for (int n = 1; !names.Add(name); n++) name = $"{wanted}_{n}";
        return name;
    }

    private static ValueInfoProto TensorValue(string name, int[] sampleShape)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = BatchDimension });
        foreach (int d in sampleShape) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = OnnxCodec.FloatType, Shape = shape } },
        };
    }

    internal static AttributeProto IntAttribute(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    internal static AttributeProto FloatAttribute(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    internal static AttributeProto IntsAttribute(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.Add(values);
        return a;
    }
}
