using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Shears.Onnx.Proto;

namespace Shears.Onnx;

/// <summary>
/// The one place where bytes become ONNX messages and back, and where tensors become floats. Every failure of
/// a read (IO, protobuf decode, a tensor whose payload does not fit its shape) leaves here as a typed
/// <see cref="ShearsException"/> naming the source; nothing is swallowed.
/// </summary>
internal static class OnnxCodec
{
    public const int FloatType = (int)TensorProto.Types.DataType.Float;
    public const int Int64Type = (int)TensorProto.Types.DataType.Int64;
    public const int Int32Type = (int)TensorProto.Types.DataType.Int32;

    /// <summary>Reads a whole file; a missing or unreadable file is a <see cref="ShearsException"/> naming it.</summary>
    public static byte[] ReadFile(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new ShearsException($"cannot read the ONNX file: {e.Message}", path, e);
        }
    }

    /// <summary>Decodes a model; bytes that are empty, not protobuf, truncated or without a graph raise <see cref="OnnxFormatException"/>.</summary>
    public static ModelProto Decode(ReadOnlySpan<byte> bytes, string source)
    {
        if (bytes.IsEmpty) throw new OnnxFormatException("the file is empty, not an ONNX model", source);
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new OnnxFormatException(
                $"not an ONNX model: its {bytes.Length} bytes do not decode as protobuf (truncated or not ONNX): {e.Message}", source, null, e);
        }
        if (model.Graph is null)
            throw new OnnxFormatException($"not an ONNX model: its {bytes.Length} bytes decode but hold no graph (truncated or not ONNX)", source);
        if (model.IrVersion <= 0)
            throw new OnnxFormatException($"not an ONNX model: ir_version is {model.IrVersion} (truncated or not ONNX)", source);
        return model;
    }

    public static byte[] Encode(ModelProto model) => model.ToByteArray();

    /// <summary>A float tensor stored as little-endian raw_data, as the format recommends.</summary>
    public static TensorProto FloatTensor(string name, ReadOnlySpan<int> shape, ReadOnlySpan<float> values)
    {
        var t = new TensorProto { Name = name, DataType = FloatType, RawData = ByteString.CopyFrom(LittleEndianBytes(values)) };
        foreach (int d in shape) t.Dims.Add(d);
        return t;
    }

    /// <summary>An int64 tensor stored as little-endian raw_data.</summary>
    public static TensorProto Int64Tensor(string name, ReadOnlySpan<int> shape, ReadOnlySpan<long> values)
    {
        var bytes = new byte[values.Length * sizeof(long)];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * sizeof(long)), values[i]);
        var t = new TensorProto { Name = name, DataType = Int64Type, RawData = ByteString.CopyFrom(bytes) };
        foreach (int d in shape) t.Dims.Add(d);
        return t;
    }

    private static byte[] LittleEndianBytes(ReadOnlySpan<float> values)
    {
        var bytes = new byte[values.Length * sizeof(float)];
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.AsBytes(values).CopyTo(bytes);
        }
        else
        {
            for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), values[i]);
        }
        return bytes;
    }

    /// <summary>The tensor's dimensions as ints; negative or huge ones are a format error.</summary>
    public static int[] Shape(TensorProto t, string source, string? node)
    {
        var shape = new int[t.Dims.Count];
        long count = 1;
        for (int i = 0; i < shape.Length; i++)
        {
            long d = t.Dims[i];
            if (d < 0 || d > int.MaxValue)
                throw new OnnxFormatException($"tensor '{t.Name}' has dimension {d} at axis {i}", source, node);
            shape[i] = (int)d;
            count *= d;
            if (count > Array.MaxLength)
                throw new OnnxFormatException($"tensor '{t.Name}' of shape [{string.Join(", ", t.Dims)}] is too large to hold", source, node);
        }
        return shape;
    }

    /// <summary>The values of a float tensor, from raw_data or float_data; other types and external data are refused.</summary>
    public static float[] ReadFloats(TensorProto t, string source, string? node)
    {
        CheckStoredInline(t, source, node);
        if (t.DataType != FloatType)
            throw new UnsupportedOnnxModelException(
                $"tensor '{t.Name}' holds {TypeName(t.DataType)} values; Shears reads float32 weights only", source, node);
        int count = Count(t, source, node);
        var values = new float[count];
        if (!t.RawData.IsEmpty)
        {
            var raw = t.RawData.Span;
            if (raw.Length != (long)count * sizeof(float))
                throw new OnnxFormatException(
                    $"tensor '{t.Name}' of shape [{string.Join(", ", t.Dims)}] needs {(long)count * sizeof(float)} bytes of raw_data but holds {raw.Length}", source, node);
            if (BitConverter.IsLittleEndian) MemoryMarshal.Cast<byte, float>(raw).CopyTo(values);
            else for (int i = 0; i < count; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(raw.Slice(i * sizeof(float)));
        }
        else
        {
            if (t.FloatData.Count != count)
                throw new OnnxFormatException(
                    $"tensor '{t.Name}' of shape [{string.Join(", ", t.Dims)}] needs {count} values in float_data but holds {t.FloatData.Count}", source, node);
            t.FloatData.CopyTo(values, 0);
        }
        return values;
    }

    /// <summary>The values of an integer tensor (int64 or int32), as used for shapes.</summary>
    public static long[] ReadInt64s(TensorProto t, string source, string? node)
    {
        CheckStoredInline(t, source, node);
        int count = Count(t, source, node);
        var values = new long[count];
        if (t.DataType == Int64Type)
        {
            if (!t.RawData.IsEmpty)
            {
                var raw = t.RawData.Span;
                if (raw.Length != (long)count * sizeof(long))
                    throw new OnnxFormatException($"int64 tensor '{t.Name}' needs {(long)count * sizeof(long)} bytes of raw_data but holds {raw.Length}", source, node);
                for (int i = 0; i < count; i++) values[i] = BinaryPrimitives.ReadInt64LittleEndian(raw.Slice(i * sizeof(long)));
            }
            else
            {
                if (t.Int64Data.Count != count)
                    throw new OnnxFormatException($"int64 tensor '{t.Name}' needs {count} values in int64_data but holds {t.Int64Data.Count}", source, node);
                t.Int64Data.CopyTo(values, 0);
            }
        }
        else if (t.DataType == Int32Type)
        {
            if (!t.RawData.IsEmpty)
            {
                var raw = t.RawData.Span;
                if (raw.Length != (long)count * sizeof(int))
                    throw new OnnxFormatException($"int32 tensor '{t.Name}' needs {(long)count * sizeof(int)} bytes of raw_data but holds {raw.Length}", source, node);
                for (int i = 0; i < count; i++) values[i] = BinaryPrimitives.ReadInt32LittleEndian(raw.Slice(i * sizeof(int)));
            }
            else
            {
                if (t.Int32Data.Count != count)
                    throw new OnnxFormatException($"int32 tensor '{t.Name}' needs {count} values in int32_data but holds {t.Int32Data.Count}", source, node);
                for (int i = 0; i < count; i++) values[i] = t.Int32Data[i];
            }
        }
        else
        {
            throw new UnsupportedOnnxModelException($"tensor '{t.Name}' holds {TypeName(t.DataType)} values where integers are needed", source, node);
        }
        return values;
    }

    /// <summary>
    /// Expands a sparse tensor (values [NNZ] plus indices [NNZ] linear or [NNZ, rank] coordinates) into a dense
    /// tensor proto of the same name, checking every index.
    /// </summary>
    public static TensorProto Densify(SparseTensorProto sparse, string source)
    {
        var values = sparse.Values ?? throw new OnnxFormatException("a sparse initializer has no values tensor", source);
        var indices = sparse.Indices ?? throw new OnnxFormatException($"sparse initializer '{values.Name}' has no indices tensor", source);
        var dense = new TensorProto { Name = values.Name };
        dense.Dims.AddRange(sparse.Dims);
        dense.DataType = values.DataType;
        int[] shape = Shape(dense, source, null);
        int count = Count(dense, source, null);
        float[] nz = ReadFloats(values, source, null);
        long[] idx = ReadInt64s(indices, source, null);
        var output = new float[count];
        bool coordinates = indices.Dims.Count == 2;
        if (coordinates ? indices.Dims[0] != nz.Length || indices.Dims[1] != shape.Length : idx.Length != nz.Length)
            throw new OnnxFormatException(
                $"sparse initializer '{values.Name}' has {nz.Length} values but indices of shape [{string.Join(", ", indices.Dims)}]", source);
        for (int i = 0; i < nz.Length; i++)
        {
            long linear;
            if (coordinates)
            {
                linear = 0;
                for (int a = 0; a < shape.Length; a++)
                {
                    long c = idx[i * shape.Length + a];
                    if ((ulong)c >= (ulong)shape[a]) { linear = -1; break; }
                    linear = linear * shape[a] + c;
                }
            }
            else
            {
                linear = idx[i];
            }
            if ((ulong)linear >= (ulong)count)
                throw new OnnxFormatException($"sparse initializer '{values.Name}' has an index outside its shape [{string.Join(", ", shape)}] at entry {i}", source);
            output[linear] = nz[i];
        }
        dense.DataType = FloatType;
        dense.RawData = ByteString.CopyFrom(LittleEndianBytes(output));
        return dense;
    }

    private static int Count(TensorProto t, string source, string? node)
    {
        long count = 1;
        foreach (int d in Shape(t, source, node)) count *= d;
        return (int)count;
    }

    private static void CheckStoredInline(TensorProto t, string source, string? node)
    {
        if (t.DataLocation != 0 || t.ExternalData.Count > 0)
            throw new UnsupportedOnnxModelException(
                $"tensor '{t.Name}' keeps its data in an external file; Shears reads only models with their weights inside", source, node);
        if (t.Segment is not null)
            throw new UnsupportedOnnxModelException($"tensor '{t.Name}' is stored in segments; Shears reads only whole tensors", source, node);
    }

    public static string TypeName(int dataType) =>
        Enum.IsDefined((TensorProto.Types.DataType)dataType)
            ? ((TensorProto.Types.DataType)dataType).ToString().ToLowerInvariant()
            : $"data type {dataType}";
}
