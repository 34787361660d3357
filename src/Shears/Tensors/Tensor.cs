using System.Runtime.CompilerServices;

namespace Shears.Tensors;

/// <summary>
/// A shape and a contiguous row-major <see cref="float"/> buffer. The buffer may be longer than the
/// shape needs (<see cref="Length"/> is what counts), so a workspace can be reshaped to a smaller batch
/// without reallocating: see <see cref="Reuse"/>.
/// </summary>
public sealed class Tensor
{
    private int[] _shape;

    public Tensor(params int[] shape)
    {
        _shape = CheckShape(shape);
        Length = Product(_shape);
        Data = new float[Length];
    }

    /// <summary>Wraps <paramref name="data"/> without copying; the tensor views it for its whole life.</summary>
    public Tensor(float[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        _shape = CheckShape(shape);
        Length = Product(_shape);
        if (data.Length < Length)
            throw new ArgumentException($"Buffer holds {data.Length} floats but shape [{string.Join(", ", _shape)}] needs {Length}.", nameof(data));
        Data = data;
    }

    /// <summary>The backing array; only the first <see cref="Length"/> entries belong to the tensor.</summary>
    public float[] Data { get; private set; }

    public int Length { get; private set; }

    public ReadOnlySpan<int> Shape => _shape;

    public int Rank => _shape.Length;

    public int Dim(int axis) => _shape[axis < 0 ? axis + _shape.Length : axis];

    public Span<float> Span => Data.AsSpan(0, Length);

    public ReadOnlySpan<float> ReadOnlySpan => Data.AsSpan(0, Length);

    /// <summary>Checked element access for users; kernels use <see cref="Span"/>.</summary>
    public float this[params int[] index]
    {
        get => Data[Offset(index)];
        set => Data[Offset(index)] = value;
    }

    /// <summary>A view of the same storage with another shape of the same length.</summary>
    public Tensor Reshape(params int[] shape)
    {
        var s = CheckShape(shape);
        if (Product(s) != Length)
            throw new ArgumentException($"Cannot reshape [{string.Join(", ", _shape)}] ({Length} values) to [{string.Join(", ", s)}] ({Product(s)} values).");
        return new Tensor(Data, s);
    }

    public Tensor Clone()
    {
        var t = new Tensor(_shape.ToArray());
        ReadOnlySpan.CopyTo(t.Span);
        return t;
    }

    public void Clear() => Span.Clear();

    /// <summary>
    /// Returns <paramref name="workspace"/> reshaped to <paramref name="shape"/>, growing its buffer only when
    /// it is too small; contents are unspecified. The training loop uses this so no batch allocates.
    /// </summary>
    public static Tensor Reuse(ref Tensor? workspace, params int[] shape)
    {
        var s = CheckShape(shape);
        int n = Product(s);
        if (workspace is null || workspace.Data.Length < n)
        {
            workspace = new Tensor(s);
            return workspace;
        }
        workspace._shape = s;
        workspace.Length = n;
        return workspace;
    }

    public bool ShapeEquals(ReadOnlySpan<int> shape) => _shape.AsSpan().SequenceEqual(shape);

    public override string ToString() => $"Tensor[{string.Join(", ", _shape)}]";

    private int Offset(int[] index)
    {
        if (index.Length != _shape.Length)
            throw new ArgumentException($"Index has {index.Length} coordinates but the tensor has rank {_shape.Length}.");
        int offset = 0;
        for (int i = 0; i < index.Length; i++)
        {
            if ((uint)index[i] >= (uint)_shape[i])
                throw new IndexOutOfRangeException($"Index {index[i]} is outside axis {i} of length {_shape[i]}.");
            offset = offset * _shape[i] + index[i];
        }
        return offset;
    }

    private static int[] CheckShape(int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        foreach (int d in shape)
            if (d < 0) throw new ArgumentException($"Shape [{string.Join(", ", shape)}] has a negative dimension.");
        return (int[])shape.Clone();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Product(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (int d in shape) n *= d;
        if (n > Array.MaxLength) throw new ArgumentException($"Shape holds {n} values, more than an array can.");
        return (int)n;
    }
}
