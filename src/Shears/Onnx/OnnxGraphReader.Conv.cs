using Shears.Nn;
using Shears.Onnx.Proto;

namespace Shears.Onnx;

internal sealed partial class OnnxGraphReader
{
    /// <summary>
    /// Conv with group 1, dilations 1, a square kernel, equal strides and the same padding on every side:
    /// explicit pads, VALID, or SAME_UPPER/SAME_LOWER where the padding they imply for this input is symmetric.
    /// </summary>
    private void ReadConv(NodeProto node, string label)
    {
        if (_shape.Length != 3)
            throw new UnsupportedOnnxModelException($"Conv node '{label}' gets input {ShapeText}; Shears convolves [batch, C, H, W]", _source, label);
        long group = Int(node, label, "group", 1);
        if (group != 1)
            throw new UnsupportedOnnxModelException(
                $"Conv node '{label}' has group={group}; Shears supports only ungrouped convolution (group=1)", _source, label);
        RequireOnes(node, label, "dilations", "Conv");
        var (w, wShape) = Weight(node, label, 1, "W");
        if (wShape.Length != 4)
            throw new UnsupportedOnnxModelException(
                $"Conv node '{label}' has a weight of shape [{string.Join(", ", wShape)}]; Shears supports 2-D convolution, [out, in, k, k]", _source, label);
        int outChannels = wShape[0], inChannels = wShape[1], kernel = wShape[2];
        if (wShape[2] != wShape[3])
            throw new UnsupportedOnnxModelException(
                $"Conv node '{label}' has a {wShape[2]}×{wShape[3]} kernel; Shears supports square kernels", _source, label);
        long[]? kernelShape = Ints(node, label, "kernel_shape");
        if (kernelShape is not null && !kernelShape.SequenceEqual([(long)wShape[2], wShape[3]]))
            throw new OnnxFormatException(
                $"Conv node '{label}' declares kernel_shape [{string.Join(", ", kernelShape)}] but its weight is [{string.Join(", ", wShape)}]", _source, label);
        if (inChannels != _shape[0])
            throw new UnsupportedOnnxModelException(
                $"Conv node '{label}' has a weight for {inChannels} input channels but gets {ShapeText}", _source, label);
        long[] strides = Ints(node, label, "strides") ?? [1, 1];
        if (strides.Length != 2 || strides[0] != strides[1] || strides[0] <= 0 || strides[0] > int.MaxValue)
            throw new UnsupportedOnnxModelException($"Conv node '{label}' has strides [{string.Join(", ", strides)}]; Shears needs equal positive strides", _source, label);
        int stride = (int)strides[0];
        int padding = ConvPadding(node, label, kernel, stride);

        var conv = new Conv2d(LayerName(node, "conv"), inChannels, outChannels, kernel, padding, stride);
        w.CopyTo(conv.Weight.Value.Span);
        if (node.Input.Count > 2 && node.Input[2].Length > 0)
        {
            var (b, bShape) = Weight(node, label, 2, "B");
            if (b.Length != outChannels || bShape.Length != 1)
                throw new OnnxFormatException(
                    $"Conv node '{label}' has a bias of shape [{string.Join(", ", bShape)}] for {outChannels} output channels", _source, label);
            b.CopyTo(conv.Bias.Value.Span);
        }
        AddLayer(conv, label);
    }

    private int ConvPadding(NodeProto node, string label, int kernel, int stride)
    {
        string autoPad = String(node, label, "auto_pad") ?? "NOTSET";
        long[]? pads = Ints(node, label, "pads");
        switch (autoPad)
        {
            case "NOTSET":
                pads ??= [0, 0, 0, 0];
                if (pads.Length != 4 || pads.Any(p => p != pads[0]) || pads[0] < 0 || pads[0] > int.MaxValue)
                    throw new UnsupportedOnnxModelException(
                        $"Conv node '{label}' has pads [{string.Join(", ", pads)}]; Shears supports the same padding on all four sides", _source, label);
                return (int)pads[0];
            case "VALID":
                return 0;
            case "SAME_UPPER":
            case "SAME_LOWER":
                int padH = SamePadding(_shape[1], kernel, stride), padW = SamePadding(_shape[2], kernel, stride);
                if (padH < 0 || padW < 0 || padH != padW)
                    throw new UnsupportedOnnxModelException(
                        $"Conv node '{label}' has auto_pad={autoPad}, which pads its {_shape[1]}×{_shape[2]} input unevenly for a {kernel}×{kernel} kernel with stride {stride}; "
                        + "Shears supports the same padding on all four sides", _source, label);
                return padH;
            default:
                throw new UnsupportedOnnxModelException($"Conv node '{label}' has auto_pad={autoPad}", _source, label);
        }
    }

    /// <summary>The per-side padding SAME implies along one axis, or −1 when the total is odd (one side gets more).</summary>
    private static int SamePadding(int size, int kernel, int stride)
    {
        int output = (size + stride - 1) / stride;
        int total = Math.Max((output - 1) * stride + kernel - size, 0);
        return total % 2 == 0 ? total / 2 : -1;
    }
}
