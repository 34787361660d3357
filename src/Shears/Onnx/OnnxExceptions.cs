namespace Shears.Onnx;

/// <summary>Base of the errors raised while reading or writing ONNX files; the message names the file and, where there is one, the node.</summary>
public abstract class OnnxException : ShearsException
{
    protected OnnxException(string message, string? path, string? nodeName, Exception? inner)
        : base(message, path, inner)
    {
        NodeName = nodeName;
    }

    /// <summary>The graph node the problem is in, when there is one.</summary>
    public string? NodeName { get; }
}

/// <summary>
/// The bytes are not a well-formed ONNX model: not protobuf, empty, truncated, missing the graph, or holding
/// values that contradict each other (a weight whose byte count does not match its shape, an undefined input).
/// </summary>
public sealed class OnnxFormatException : OnnxException
{
    public OnnxFormatException(string message, string? path, string? nodeName = null, Exception? inner = null)
        : base(message, path, nodeName, inner) { }
}

/// <summary>The graph uses an operator Shears has no layer for.</summary>
public sealed class UnsupportedOperatorException : OnnxException
{
    public UnsupportedOperatorException(string opType, string? nodeName, string? path, string? detail = null)
        : base($"operator '{opType}' (node '{nodeName}') is not supported{(detail is null ? "" : $": {detail}")}. "
               + $"Shears reads {string.Join(", ", OnnxImporter.SupportedOperators)}.", path, nodeName, null)
    {
        OpType = opType;
    }

    /// <summary>The node's op_type.</summary>
    public string OpType { get; }
}

/// <summary>
/// A valid ONNX model that Shears cannot represent as a <see cref="Nn.Sequential"/>: a graph that is not a single
/// chain, or an attribute value outside what the layers do (grouped or dilated convolution, asymmetric padding,
/// transposed Gemm input, non-float weights, weights in external files).
/// </summary>
public sealed class UnsupportedOnnxModelException : OnnxException
{
    public UnsupportedOnnxModelException(string message, string? path, string? nodeName = null)
        : base(message, path, nodeName, null) { }
}
