using System.Numerics;
using System.Runtime.Intrinsics;

namespace Shears.Tensors;

/// <summary>How much of a filter or weight matrix is left after pruning: the sparse kernels take over below a measured density.</summary>
public static class Density
{
    /// <summary>The fraction of entries that are not zero (NaN counts as nonzero); 0 for an empty span.</summary>
    public static double Of(ReadOnlySpan<float> values) => values.IsEmpty ? 0 : (double)CountNonzero(values) / values.Length;

    public static int CountNonzero(ReadOnlySpan<float> values)
    {
        int n = 0, j = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; j + 16 <= values.Length; j += 16)
                n += 16 - BitOperations.PopCount(Vector512.Equals(Vector512.Create(values.Slice(j, 16)), Vector512<float>.Zero).ExtractMostSignificantBits());
        else if (Vector256.IsHardwareAccelerated)
            for (; j + 8 <= values.Length; j += 8)
                n += 8 - BitOperations.PopCount(Vector256.Equals(Vector256.Create(values.Slice(j, 8)), Vector256<float>.Zero).ExtractMostSignificantBits());
        for (; j < values.Length; j++)
            if (values[j] != 0f) n++;
        return n;
    }

    /// <summary>
    /// Writes the positions of <paramref name="values"/>' nonzero entries (NaN counts as nonzero), in order, to
    /// <paramref name="indices"/> and returns how many. A vector compare skips runs of zeros 16 (or 8) at a time.
    /// </summary>
    internal static int NonzeroIndices(ReadOnlySpan<float> values, Span<int> indices)
    {
        int n = 0, j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; j + 16 <= values.Length; j += 16)
            {
                uint bits = (uint)~Vector512.Equals(Vector512.Create(values.Slice(j, 16)), Vector512<float>.Zero).ExtractMostSignificantBits() & 0xFFFF;
                for (; bits != 0; bits &= bits - 1) indices[n++] = j + BitOperations.TrailingZeroCount(bits);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; j + 8 <= values.Length; j += 8)
            {
                uint bits = ~Vector256.Equals(Vector256.Create(values.Slice(j, 8)), Vector256<float>.Zero).ExtractMostSignificantBits() & 0xFF;
                for (; bits != 0; bits &= bits - 1) indices[n++] = j + BitOperations.TrailingZeroCount(bits);
            }
        }
        for (; j < values.Length; j++)
            if (values[j] != 0f) indices[n++] = j;
        return n;
    }
}
