using Shears.Nn;
using Shears.Onnx.Proto;

namespace Shears.Onnx;

/// <summary>
/// Walks one decoded graph node by node, following the single chain of values from the graph input, and
/// builds the layers; see <see cref="OnnxImporter"/> for what it accepts. One reader reads one model.
/// </summary>
internal sealed partial class OnnxGraphReader
{
    private const int MinimumOpset = 7;

    private readonly ModelProto _model;
    private readonly GraphProto _graph;
    private readonly string _source;
    private readonly Dictionary<string, TensorProto> _constants = new(StringComparer.Ordinal);
    private readonly HashSet<string> _initializerNames = new(StringComparer.Ordinal);
    private readonly List<Layer> _layers = [];
    private readonly HashSet<string> _layerNames = new(StringComparer.Ordinal);
    private int[] _shape = [];
    private string _current = "";

    public OnnxGraphReader(ModelProto model, string source)
    {
        _model = model;
        _graph = model.Graph;
        _source = source;
    }

    public Sequential Read()
    {
        CheckOpset();
        CollectInitializers();
        var input = FindInput();
        var output = FindOutput();
        int[] inputShape = SampleShape(input);
        _shape = inputShape;
        _current = input.Name;

        for (int i = 0; i < _graph.Node.Count; i++) ReadNode(_graph.Node[i], i);

        if (_current != output.Name)
            throw new UnsupportedOnnxModelException(
                $"the graph is not a single chain: the chain from input '{input.Name}' ends at '{_current}', not at the graph output '{output.Name}'", _source);
        if (_layers.Count == 0)
            throw new UnsupportedOnnxModelException("the graph has no layers between its input and output", _source);

        string name = ModelName();
        Sequential model;
        try
        {
            model = new Sequential(name, inputShape, _layers.ToArray());
        }
        catch (ArgumentException e)
        {
            throw new OnnxFormatException($"the layers do not form a model: {e.Message}", _source, null, e);
        }
        CheckOutputShape(output, model);
        RestoreMasks(model);
        return model;
    }

    // ----------------------------------------------------------------------------------------- graph frame

    private void CheckOpset()
    {
        var opset = _model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx");
        if (opset is null)
            throw new OnnxFormatException("the model imports no version of the default ONNX operator set (opset_import)", _source);
        if (opset.Version < MinimumOpset)
            throw new UnsupportedOnnxModelException(
                $"the model uses opset {opset.Version}; Shears reads opset {MinimumOpset} and later, where its operators mean what Shears assumes", _source);
    }

    private void CollectInitializers()
    {
        foreach (var t in _graph.Initializer) AddInitializer(t);
        foreach (var s in _graph.SparseInitializer) AddInitializer(OnnxCodec.Densify(s, _source));
    }

    private void AddInitializer(TensorProto t)
    {
        if (string.IsNullOrEmpty(t.Name)) throw new OnnxFormatException("an initializer has no name", _source);
        if (!_initializerNames.Add(t.Name)) throw new OnnxFormatException($"two initializers are named '{t.Name}'", _source);
        _constants[t.Name] = t;
    }

    private ValueInfoProto FindInput()
    {
        // Older exporters list every initializer among the graph inputs too; those are not inputs to feed.
        var inputs = _graph.Input.Where(v => !_initializerNames.Contains(v.Name)).ToList();
        if (inputs.Count != 1)
            throw new UnsupportedOnnxModelException(
                $"the graph has {inputs.Count} inputs ({string.Join(", ", inputs.Select(v => $"'{v.Name}'"))}); Shears reads models with exactly one", _source);
        return inputs[0];
    }

    private ValueInfoProto FindOutput()
    {
        if (_graph.Output.Count != 1)
            throw new UnsupportedOnnxModelException(
                $"the graph has {_graph.Output.Count} outputs ({string.Join(", ", _graph.Output.Select(v => $"'{v.Name}'"))}); Shears reads models with exactly one", _source);
        return _graph.Output[0];
    }

    /// <summary>The declared input shape without its batch axis (the first, whatever it holds).</summary>
    private int[] SampleShape(ValueInfoProto input)
    {
        var tensorType = input.Type?.TensorType
            ?? throw new UnsupportedOnnxModelException($"graph input '{input.Name}' is not a tensor", _source);
        if (tensorType.ElemType != OnnxCodec.FloatType)
            throw new UnsupportedOnnxModelException(
                $"graph input '{input.Name}' holds {OnnxCodec.TypeName(tensorType.ElemType)} values; Shears models take float32", _source);
        var dims = tensorType.Shape?.Dim
            ?? throw new UnsupportedOnnxModelException($"graph input '{input.Name}' declares no shape; Shears needs its per-sample shape", _source);
        if (dims.Count < 2)
            throw new UnsupportedOnnxModelException(
                $"graph input '{input.Name}' has rank {dims.Count}; Shears needs [batch, ...sample shape]", _source);
        var shape = new int[dims.Count - 1];
        for (int i = 1; i < dims.Count; i++)
        {
            var d = dims[i];
            if (d.ValueCase != TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue || d.DimValue <= 0 || d.DimValue > int.MaxValue)
                throw new UnsupportedOnnxModelException(
                    $"graph input '{input.Name}' axis {i} is {DescribeDim(d)}; Shears needs fixed positive sizes after the batch axis", _source);
            shape[i - 1] = (int)d.DimValue;
        }
        return shape;
    }

    private static string DescribeDim(TensorShapeProto.Types.Dimension d) => d.ValueCase switch
    {
        TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam => $"symbolic '{d.DimParam}'",
        TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue => d.DimValue.ToString(),
        _ => "unknown",
    };

    private void CheckOutputShape(ValueInfoProto output, Sequential model)
    {
        var dims = output.Type?.TensorType?.Shape?.Dim;
        if (dims is null || dims.Count == 0) return;
        bool fits = dims.Count == model.OutputShape.Length + 1;
        for (int i = 1; fits && i < dims.Count; i++)
            if (dims[i].ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && dims[i].DimValue != model.OutputShape[i - 1])
                fits = false;
        if (!fits)
            throw new OnnxFormatException(
                $"graph output '{output.Name}' is declared [{string.Join(", ", dims.Select(DescribeDim))}] but the layers produce [batch, {string.Join(", ", model.OutputShape)}]", _source);
    }

    private string ModelName()
    {
        string? fromMetadata = _model.MetadataProps.FirstOrDefault(p => p.Key == OnnxExporter.ModelNameKey)?.Value;
        if (!string.IsNullOrWhiteSpace(fromMetadata)) return fromMetadata;
        // PyTorch names every graph alike; the file's name says more about the model than those do.
        bool generic = _graph.Name is "torch_jit" or "torch-jit-export" or "main_graph";
        if (!string.IsNullOrWhiteSpace(_graph.Name) && !generic) return _graph.Name;
        string stem = Path.GetFileNameWithoutExtension(_source);
        if (!string.IsNullOrWhiteSpace(stem)) return stem;
        return string.IsNullOrWhiteSpace(_graph.Name) ? "onnx" : _graph.Name;
    }

    private void RestoreMasks(Sequential model)
    {
        string? list = _model.MetadataProps.FirstOrDefault(p => p.Key == OnnxExporter.MaskedParametersKey)?.Value;
        if (string.IsNullOrWhiteSpace(list)) return;
        foreach (string raw in list.Split(','))
        {
            string name = raw.Trim();
            if (name.Length == 0) continue;
            var p = model.Parameters.FirstOrDefault(q => q.Name == name)
                ?? throw new OnnxFormatException(
                    $"metadata '{OnnxExporter.MaskedParametersKey}' names parameter '{name}', which the model read from the graph does not have", _source);
            p.MaskZeros();
        }
    }

    // ------------------------------------------------------------------------------------------ the chain

    private void ReadNode(NodeProto node, int index)
    {
        string label = string.IsNullOrEmpty(node.Name) ? $"#{index} {node.OpType}" : node.Name;
        if (node.Domain is not ("" or "ai.onnx"))
            throw new UnsupportedOperatorException($"{node.Domain}.{node.OpType}", label, _source, $"domain '{node.Domain}' is not the default ONNX domain");
        if (node.Output.Count == 0 || string.IsNullOrEmpty(node.Output[0]))
            throw new OnnxFormatException($"node '{label}' ({node.OpType}) has no output", _source, label);

        if (node.OpType == "Constant")
        {
            _constants[node.Output[0]] = ReadConstantNode(node, label);
            return;
        }
        if (!OnnxImporter.SupportedOperators.Contains(node.OpType))
            throw new UnsupportedOperatorException(node.OpType, label, _source);

        var dynamicInputs = node.Input.Where(n => n.Length > 0 && !_constants.ContainsKey(n)).ToList();
        // Add may take its operands either way round; every other operator reads the chain as its first input.
        if (dynamicInputs.Count != 1 || dynamicInputs[0] != _current || (node.OpType != "Add" && node.Input[0] != _current))
        {
            throw new UnsupportedOnnxModelException(
                $"the graph is not a single chain: node '{label}' ({node.OpType}) reads [{string.Join(", ", node.Input.Select(n => $"'{n}'"))}] "
                + $"but the chain from the input is at '{_current}' (every node must take the previous node's output as its first and only non-constant input)",
                _source, label);
        }

        try
        {
            switch (node.OpType)
            {
                case "Gemm": ReadGemm(node, label); break;
                case "MatMul": ReadMatMul(node, label); break;
                case "Add": ReadAdd(node, label); break;
                case "Conv": ReadConv(node, label); break;
                case "Relu": AddLayer(new Relu(LayerName(node, "relu")), label); break;
                case "MaxPool": ReadMaxPool(node, label); break;
                case "Flatten": ReadFlatten(node, label); break;
                case "Reshape": ReadReshape(node, label); break;
                case "Identity":
                case "Dropout":
                    break;
                default:
                    throw new UnsupportedOperatorException(node.OpType, label, _source);
            }
        }
        catch (ArgumentException e)
        {
            // A layer constructor refusing the sizes the node implies (a zero-sized weight, say).
            throw new OnnxFormatException($"node '{label}' ({node.OpType}) does not describe a valid layer: {e.Message}", _source, label, e);
        }
        _current = node.Output[0];
    }

    private void AddLayer(Layer layer, string label)
    {
        try
        {
            _shape = layer.OutputShape(_shape);
        }
        catch (ArgumentException e)
        {
            throw new UnsupportedOnnxModelException($"node '{label}' does not fit the shape before it: {e.Message}", _source, label);
        }
        _layers.Add(layer);
    }

    private string LayerName(NodeProto node, string kind)
    {
        // A weight named "<prefix>.weight" (PyTorch's state-dict names, and ours) names the layer, so reports on an
        // imported model say "1.weight" as PyTorch would rather than the exporter's node path "/1/Gemm.weight".
        if (node.Input.Count > 1 && node.Input[1].EndsWith(".weight", StringComparison.Ordinal) && node.Input[1].Length > ".weight".Length)
        {
            string prefix = node.Input[1][..^".weight".Length];
            if (_layerNames.Add(prefix)) return prefix;
        }
        if (!string.IsNullOrWhiteSpace(node.Name) && _layerNames.Add(node.Name)) return node.Name;
        for (int n = _layers.Count + 1; ; n++)
        {
            string name = $"{kind}{n}";
            if (_layerNames.Add(name)) return name;
        }
    }

    private string ShapeText => $"[batch, {string.Join(", ", _shape)}]";

    // ---------------------------------------------------------------------------------------- operators

    private void ReadGemm(NodeProto node, string label)
    {
        if (Int(node, label, "transA", 0) != 0)
            throw new UnsupportedOnnxModelException($"Gemm node '{label}' has transA=1; Shears reads Gemm with an untransposed input", _source, label);
        long transB = Int(node, label, "transB", 0);
        float alpha = Float(node, label, "alpha", 1f), beta = Float(node, label, "beta", 1f);
        RequireFeatures(label, "Gemm");
        var (b, bShape) = Weight(node, label, 1, "B");
        if (bShape.Length != 2)
            throw new UnsupportedOnnxModelException($"Gemm node '{label}' has a weight of rank {bShape.Length}; it needs rank 2", _source, label);
        int inputs = transB != 0 ? bShape[1] : bShape[0], outputs = transB != 0 ? bShape[0] : bShape[1];
        CheckInputs(label, "Gemm", inputs);
        var linear = new Linear(LayerName(node, "gemm"), inputs, outputs);
        var w = linear.Weight.Value.Span;
        if (transB != 0) b.CopyTo(w);
        else Transpose(b, inputs, outputs, w);
        if (alpha != 1f) for (int i = 0; i < w.Length; i++) w[i] *= alpha;
        if (node.Input.Count > 2 && node.Input[2].Length > 0)
        {
            var (c, cShape) = Weight(node, label, 2, "C");
            AddBias(linear.Bias.Value.Span, c, cShape, outputs, beta, label, "Gemm");
        }
        AddLayer(linear, label);
    }

    private void ReadMatMul(NodeProto node, string label)
    {
        RequireFeatures(label, "MatMul");
        var (b, bShape) = Weight(node, label, 1, "B");
        if (bShape.Length != 2)
            throw new UnsupportedOnnxModelException($"MatMul node '{label}' has a weight of rank {bShape.Length}; it needs rank 2 [in, out]", _source, label);
        int inputs = bShape[0], outputs = bShape[1];
        CheckInputs(label, "MatMul", inputs);
        var linear = new Linear(LayerName(node, "matmul"), inputs, outputs);
        Transpose(b, inputs, outputs, linear.Weight.Value.Span);
        AddLayer(linear, label);
    }

    /// <summary>An Add of a constant right after a Linear or Conv is that layer's bias (added to any it has).</summary>
    private void ReadAdd(NodeProto node, string label)
    {
        int constantAt = node.Input[0] == _current ? 1 : 0;
        var (c, cShape) = Weight(node, label, constantAt, "B");
        switch (_layers.Count > 0 ? _layers[^1] : null)
        {
            case Linear linear:
                AddBias(linear.Bias.Value.Span, c, cShape, linear.Outputs, 1f, label, "Add");
                break;
            case Conv2d conv:
                AddChannelBias(conv.Bias.Value.Span, c, cShape, conv.OutChannels, label);
                break;
            case var other:
                throw new UnsupportedOnnxModelException(
                    $"Add node '{label}' adds to the output of {(other is null ? "the graph input" : $"{other.GetType().Name} '{other.Name}'")}; "
                    + "Shears reads Add only as the bias of the MatMul, Gemm or Conv right before it", _source, label);
        }
    }

    private void ReadMaxPool(NodeProto node, string label)
    {
        if (_shape.Length != 3)
            throw new UnsupportedOnnxModelException($"MaxPool node '{label}' gets input {ShapeText}; Shears pools [batch, C, H, W]", _source, label);
        long[] kernel = Ints(node, label, "kernel_shape")
            ?? throw new OnnxFormatException($"MaxPool node '{label}' has no kernel_shape", _source, label);
        if (kernel.Length != 2 || kernel[0] != kernel[1] || kernel[0] <= 0 || kernel[0] > int.MaxValue)
            throw new UnsupportedOnnxModelException($"MaxPool node '{label}' has kernel_shape [{string.Join(", ", kernel)}]; Shears pools square 2-D windows", _source, label);
        long[] strides = Ints(node, label, "strides") ?? [1, 1];
        if (strides.Length != 2 || strides[0] != strides[1] || strides[0] <= 0 || strides[0] > int.MaxValue)
            throw new UnsupportedOnnxModelException($"MaxPool node '{label}' has strides [{string.Join(", ", strides)}]; Shears needs equal strides", _source, label);
        long[] pads = Ints(node, label, "pads") ?? [0, 0, 0, 0];
        if (pads.Any(p => p != 0))
            throw new UnsupportedOnnxModelException($"MaxPool node '{label}' has pads [{string.Join(", ", pads)}]; Shears pools without padding", _source, label);
        string autoPad = String(node, label, "auto_pad") ?? "NOTSET";
        if (autoPad is not ("NOTSET" or "VALID"))
            throw new UnsupportedOnnxModelException($"MaxPool node '{label}' has auto_pad={autoPad}; Shears pools without padding", _source, label);
        RequireOnes(node, label, "dilations", "MaxPool");
        int k = (int)kernel[0], s = (int)strides[0];
        if (Int(node, label, "ceil_mode", 0) != 0 && ((_shape[1] - k) % s != 0 || (_shape[2] - k) % s != 0))
            throw new UnsupportedOnnxModelException(
                $"MaxPool node '{label}' has ceil_mode=1, which keeps partial windows of its {_shape[1]}×{_shape[2]} input; Shears drops them (floor)", _source, label);
        if (node.Output.Count > 1 && node.Output[1].Length > 0 && IsUsed(node.Output[1]))
            throw new UnsupportedOnnxModelException($"MaxPool node '{label}' has its Indices output used; Shears pools values only", _source, label);
        AddLayer(new MaxPool2d(LayerName(node, "maxpool"), k, s), label);
    }

    private void ReadFlatten(NodeProto node, string label)
    {
        long axis = Int(node, label, "axis", 1);
        int rank = _shape.Length + 1;
        if (axis < 0) axis += rank;
        if (axis != 1)
            throw new UnsupportedOnnxModelException(
                $"Flatten node '{label}' has axis {Int(node, label, "axis", 1)} on input {ShapeText}; Shears flattens at axis 1 (keeping the batch)", _source, label);
        AddLayer(new Flatten(LayerName(node, "flatten")), label);
    }

    /// <summary>A Reshape to [batch, features] is a Flatten: [-1, K], [0, -1], [0, K], [N, K] or [N, -1].</summary>
    private void ReadReshape(NodeProto node, string label)
    {
        if (node.Input.Count < 2 || !_constants.TryGetValue(node.Input[1], out var shapeTensor))
            throw new UnsupportedOnnxModelException($"Reshape node '{label}' takes its shape from a computed value; Shears needs a constant shape", _source, label);
        long[] target = OnnxCodec.ReadInt64s(shapeTensor, _source, label);
        long features = 1;
        foreach (int d in _shape) features *= d;
        bool allowZero = Int(node, label, "allowzero", 0) != 0;
        bool flattens = target.Length == 2
            && (target[0] == -1 || target[0] > 0 || (target[0] == 0 && !allowZero))
            && (target[1] == features || (target[1] == -1 && target[0] != -1));
        if (!flattens)
            throw new UnsupportedOnnxModelException(
                $"Reshape node '{label}' reshapes {ShapeText} to [{string.Join(", ", target)}]; Shears reads only a flatten to [batch, {features}]", _source, label);
        AddLayer(new Flatten(LayerName(node, "flatten")), label);
    }

    // ------------------------------------------------------------------------------------------- helpers

    private void RequireFeatures(string label, string op)
    {
        if (_shape.Length != 1)
            throw new UnsupportedOnnxModelException(
                $"{op} node '{label}' gets input {ShapeText}; Shears needs [batch, features] there (a Flatten before it)", _source, label);
    }

    private void CheckInputs(string label, string op, int inputs)
    {
        if (_shape[0] != inputs)
            throw new UnsupportedOnnxModelException(
                $"{op} node '{label}' has a weight for {inputs} inputs but gets {ShapeText}", _source, label);
    }

    private (float[] Values, int[] Shape) Weight(NodeProto node, string label, int index, string role)
    {
        if (index >= node.Input.Count || node.Input[index].Length == 0)
            throw new OnnxFormatException($"node '{label}' ({node.OpType}) lacks its input {role}", _source, label);
        string name = node.Input[index];
        if (!_constants.TryGetValue(name, out var t))
            throw new UnsupportedOnnxModelException(
                $"node '{label}' ({node.OpType}) takes its {role} from '{name}', which is not an initializer or constant", _source, label);
        return (OnnxCodec.ReadFloats(t, _source, label), OnnxCodec.Shape(t, _source, label));
    }

    /// <summary>bias += scale · c, where c holds one value per output (shape [out] or [1, out]) or a single value.</summary>
    private void AddBias(Span<float> bias, float[] c, int[] cShape, int outputs, float scale, string label, string op)
    {
        bool perOutput = c.Length == outputs && cShape.Length >= 1 && cShape[^1] == outputs && cShape.Length <= 2;
        if (!perOutput && c.Length != 1)
            throw new UnsupportedOnnxModelException(
                $"{op} node '{label}' adds a constant of shape [{string.Join(", ", cShape)}]; Shears needs one value per output ({outputs}) or a single value", _source, label);
        for (int o = 0; o < outputs; o++) bias[o] += scale * c[perOutput ? o : 0];
    }

    /// <summary>bias += c, where c is [C, 1, 1], [1, C, 1, 1] or a single value.</summary>
    private void AddChannelBias(Span<float> bias, float[] c, int[] cShape, int channels, string label)
    {
        bool perChannel = c.Length == channels
            && ((cShape.Length == 3 && cShape[0] == channels) || (cShape.Length == 4 && cShape[1] == channels));
        if (!perChannel && c.Length != 1)
            throw new UnsupportedOnnxModelException(
                $"Add node '{label}' adds a constant of shape [{string.Join(", ", cShape)}] after a convolution; Shears needs one value per channel ({channels}) or a single value", _source, label);
        for (int o = 0; o < channels; o++) bias[o] += c[perChannel ? o : 0];
    }

    private static void Transpose(ReadOnlySpan<float> source, int rows, int columns, Span<float> destination)
    {
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++)
                destination[c * rows + r] = source[r * columns + c];
    }

    private bool IsUsed(string value) =>
        _graph.Node.Any(n => n.Input.Contains(value)) || _graph.Output.Any(o => o.Name == value);

    private void RequireOnes(NodeProto node, string label, string attribute, string op)
    {
        long[]? values = Ints(node, label, attribute);
        if (values is not null && values.Any(v => v != 1))
            throw new UnsupportedOnnxModelException(
                $"{op} node '{label}' has {attribute} [{string.Join(", ", values)}]; Shears supports only {attribute} of 1", _source, label);
    }

    private TensorProto ReadConstantNode(NodeProto node, string label)
    {
        if (node.Attribute.Count != 1)
            throw new OnnxFormatException($"Constant node '{label}' has {node.Attribute.Count} attributes; it needs exactly one", _source, label);
        var a = node.Attribute[0];
        var t = new TensorProto { Name = node.Output[0] };
        switch (a.Name)
        {
            case "value":
                if (a.T is null) throw new OnnxFormatException($"Constant node '{label}' has an empty value", _source, label);
                t = a.T.Clone();
                t.Name = node.Output[0];
                return t;
            case "value_float":
                t.DataType = OnnxCodec.FloatType;
                t.FloatData.Add(a.F);
                return t;
            case "value_floats":
                t.DataType = OnnxCodec.FloatType;
                t.Dims.Add(a.Floats.Count);
                t.FloatData.AddRange(a.Floats);
                return t;
            case "value_int":
                t.DataType = OnnxCodec.Int64Type;
                t.Int64Data.Add(a.I);
                return t;
            case "value_ints":
                t.DataType = OnnxCodec.Int64Type;
                t.Dims.Add(a.Ints.Count);
                t.Int64Data.AddRange(a.Ints);
                return t;
            default:
                throw new UnsupportedOnnxModelException(
                    $"Constant node '{label}' holds a '{a.Name}'; Shears reads value, value_float(s) and value_int(s)", _source, label);
        }
    }

    // ------------------------------------------------------------------------------------- attributes

    private AttributeProto? Attribute(NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name);

    private long Int(NodeProto node, string label, string name, long fallback)
    {
        var a = Attribute(node, name);
        if (a is null) return fallback;
        if (a.Type is not (AttributeProto.Types.AttributeType.Int or AttributeProto.Types.AttributeType.Undefined))
            throw new OnnxFormatException($"attribute '{name}' of node '{label}' is a {a.Type}, not an int", _source, label);
        return a.I;
    }

    private float Float(NodeProto node, string label, string name, float fallback)
    {
        var a = Attribute(node, name);
        if (a is null) return fallback;
        if (a.Type is not (AttributeProto.Types.AttributeType.Float or AttributeProto.Types.AttributeType.Undefined))
            throw new OnnxFormatException($"attribute '{name}' of node '{label}' is a {a.Type}, not a float", _source, label);
        return a.F;
    }

    private long[]? Ints(NodeProto node, string label, string name)
    {
        var a = Attribute(node, name);
        if (a is null) return null;
        if (a.Type is not (AttributeProto.Types.AttributeType.Ints or AttributeProto.Types.AttributeType.Undefined))
            throw new OnnxFormatException($"attribute '{name}' of node '{label}' is a {a.Type}, not a list of ints", _source, label);
        return a.Ints.ToArray();
    }

    private string? String(NodeProto node, string label, string name)
    {
        var a = Attribute(node, name);
        if (a is null) return null;
        if (a.Type is not (AttributeProto.Types.AttributeType.String or AttributeProto.Types.AttributeType.Undefined))
            throw new OnnxFormatException($"attribute '{name}' of node '{label}' is a {a.Type}, not a string", _source, label);
        return a.S.ToStringUtf8();
    }
}
