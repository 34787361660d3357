using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Shears.Tensors;

/// <summary>
/// The inner loop of the sparse kernels: an output run built as a weighted sum of shifted runs of one source,
/// one per nonzero weight. A chunk of the run stays in vector registers while every weight adds its run to it,
/// so each weight costs one load and one fused multiply-add per vector, and the output is stored once.
/// </summary>
internal static class SparseRuns
{
    /// <summary>acc[0, length) = Σ value[t] · src[offset[t] + q]: one chunk of vector registers at a time, through every tap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Accumulate(float* src, int* offset, float* value, int count, float* acc, int length)
    {
        int q = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; q + 64 <= length; q += 64)
            {
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                for (int t = 0; t < count; t++)
                {
                    float* p = src + offset[t] + q;
                    var w = Vector512.Create(value[t]);
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Load(p), w, a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.Load(p + 16), w, a1);
                    a2 = Vector512.FusedMultiplyAdd(Vector512.Load(p + 32), w, a2);
                    a3 = Vector512.FusedMultiplyAdd(Vector512.Load(p + 48), w, a3);
                }
                a0.Store(acc + q); a1.Store(acc + q + 16); a2.Store(acc + q + 32); a3.Store(acc + q + 48);
            }
            for (; q + 16 <= length; q += 16)
            {
                Vector512<float> a0 = default;
                for (int t = 0; t < count; t++) a0 = Vector512.FusedMultiplyAdd(Vector512.Load(src + offset[t] + q), Vector512.Create(value[t]), a0);
                a0.Store(acc + q);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; q + 32 <= length; q += 32)
            {
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                for (int t = 0; t < count; t++)
                {
                    float* p = src + offset[t] + q;
                    var w = Vector256.Create(value[t]);
                    a0 = Vector256.FusedMultiplyAdd(Vector256.Load(p), w, a0);
                    a1 = Vector256.FusedMultiplyAdd(Vector256.Load(p + 8), w, a1);
                    a2 = Vector256.FusedMultiplyAdd(Vector256.Load(p + 16), w, a2);
                    a3 = Vector256.FusedMultiplyAdd(Vector256.Load(p + 24), w, a3);
                }
                a0.Store(acc + q); a1.Store(acc + q + 8); a2.Store(acc + q + 16); a3.Store(acc + q + 24);
            }
            for (; q + 8 <= length; q += 8)
            {
                Vector256<float> a0 = default;
                for (int t = 0; t < count; t++) a0 = Vector256.FusedMultiplyAdd(Vector256.Load(src + offset[t] + q), Vector256.Create(value[t]), a0);
                a0.Store(acc + q);
            }
        }
        for (; q < length; q++)
        {
            float a = 0;
            for (int t = 0; t < count; t++) a = MathF.FusedMultiplyAdd(src[offset[t] + q], value[t], a);
            acc[q] = a;
        }
    }


    /// <summary>
    /// Writes the positions of <paramref name="values"/>' nonzero entries (NaN counts as nonzero), in order, to
    /// <paramref name="indices"/> and returns how many. A vector compare skips runs of zeros 16 (or 8) at a time.
    /// </summary>
    public static int NonzeroIndices(ReadOnlySpan<float> values, Span<int> indices)
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
