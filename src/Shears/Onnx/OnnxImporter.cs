using Shears.Nn;

namespace Shears.Onnx;

/// <summary>
/// Reads an ONNX model — ours or another tool's (PyTorch, Keras converters, ...) — into a <see cref="Sequential"/>.
/// The graph must be a single chain from its one input to its one output through these operators:
/// Gemm (transA=0; transB 0 or 1; alpha and beta folded into the weights), MatMul (weight [in, out]) with an
/// optional following Add as its bias, Conv (group 1, dilations 1, square kernel, symmetric padding, auto_pad
/// NOTSET/VALID/SAME_* where that pads symmetrically), Relu, MaxPool (square, no padding), Flatten (axis 1),
/// Reshape to [batch, features] from a constant shape, Identity and Dropout (inference: passed through), and
/// Constant nodes feeding them. Weights come from float32 initializers (raw_data or float_data), sparse
/// initializers or Constant nodes; initializers listed among the graph inputs, as older exporters do, are not
/// taken for inputs. The per-sample input shape comes from the input's declared shape with the batch axis dropped.
/// Layer names are the node names (generated where missing or repeated); parameters are "&lt;layer&gt;.weight" and
/// "&lt;layer&gt;.bias". Masks listed in the "shears.masked" metadata are rebuilt as weight ≠ 0.
/// Errors: <see cref="OnnxFormatException"/> for bytes that are not a model, <see cref="UnsupportedOperatorException"/>
/// for an operator outside the list, <see cref="UnsupportedOnnxModelException"/> for a graph or attribute Shears
/// cannot represent; each names the file and, where there is one, the node.
/// </summary>
public static class OnnxImporter
{
    /// <summary>The op_types the importer understands (default domain).</summary>
    public static IReadOnlyList<string> SupportedOperators { get; } =
        ["Gemm", "MatMul", "Add", "Conv", "Relu", "MaxPool", "Flatten", "Reshape", "Identity", "Dropout", "Constant"];

    /// <summary>Reads the model in the file at <paramref name="path"/>.</summary>
    public static Sequential Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Load(OnnxCodec.ReadFile(path), path);
    }

    /// <summary>The model's metadata_props (key → value; a repeated key keeps its last value).</summary>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var proto = OnnxCodec.Decode(OnnxCodec.ReadFile(path), path);
        var metadata = new Dictionary<string, string>();
        foreach (var entry in proto.MetadataProps) metadata[entry.Key] = entry.Value;
        return metadata;
    }

    /// <summary>Reads a model from its bytes; <paramref name="sourceName"/> names it in error messages (a file name, say).</summary>
    public static Sequential Load(byte[] bytes, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentException.ThrowIfNullOrEmpty(sourceName);
        var proto = OnnxCodec.Decode(bytes, sourceName);
        return new OnnxGraphReader(proto, sourceName).Read();
    }
}
