using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Shears.Tensors;

/// <summary>
/// One image's weight gradient for a filter with few taps (Cin·k², CNN-3's conv1: 9):
/// dW[out × taps] = dY[out × spatial] · columnsᵀ (+ dW), to the bit what <see cref="Gemm.Multiply(Transpose, Transpose, int, int, int, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, Span{float}, int, float)"/>
/// gives for it, three times as fast for CNN-3's conv1.
/// </summary>
/// <remarks>
/// The GEMM packs both operands for every image, and a C only 9 columns wide fills about half of each tile (or,
/// computed transposed, a tile row in three). In a pruned CNN-3 training step (batch 128 in chunks of 16, one
/// thread, AVX2 machine, `--layers`, two A/B pairs) conv1's backward took 4.33 and 6.71 ms with the GEMM, 2.02
/// and 3.63 with this kernel. Here each output channel's gradient is transposed once, to [spatial × out], and
/// vectors of 8 channels run down it, one accumulator per tap and channel vector, each tap's column entry
/// broadcast. Every element of dW is then, per k block, one fused multiply-add chain over the spatial positions
/// in order from zero, and the blocks are added to dW as the GEMM adds them (<see cref="Gemm.SumOrder"/>): the
/// same operations on the same values, so the same bits on every kernel the GEMM has that fuses its
/// multiply-adds. Lane width does not enter: a lane's chain is the element's chain.
/// </remarks>
internal static class FewTapWeightGradient
{
    /// <summary>
    /// Filters with at most this many taps take this path. One image, one thread, AVX2 machine (min of 7 runs of
    /// 2,000): CNN-3's conv1 (32 channels × 9 taps × 784 positions) 10.9 µs against the GEMM's 36.5; 64 × 72 × 196
    /// 41 against 53; 32 × 64 × 784 57 against 96; at 144 taps they tie, and conv2's 288 take 133 against 103.
    /// </summary>
    public const int MaxTaps = 72;

    private const int Lanes = 8;
    private const int TapsPerTile = 3, VectorsPerTile = 4;

    [ThreadStatic] private static float[]? t_transposed;
    [ThreadStatic] private static float[]? t_sums;

    /// <summary>Whether this machine's GEMM sums with fused multiply-adds, which this kernel reproduces.</summary>
    public static bool Supported => Fma.IsSupported && Avx.IsSupported && Gemm.BestKernel is GemmKernelKind.Avx2 or GemmKernelKind.Avx512;

    /// <summary>Whether a weight gradient of this shape takes this path.</summary>
    public static bool Takes(int taps, int spatial) => taps <= MaxTaps && spatial > 0 && Supported;

    /// <summary>
    /// dW = dY·columnsᵀ (<paramref name="accumulate"/> false) or dY·columnsᵀ + dW, summed as the GEMM sums it:
    /// <paramref name="outputGradient"/> is [out × spatial], <paramref name="columns"/> [taps × spatial], dW [out × taps].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Multiply(float* outputGradient, float* columns, float* weightGradient, int outChannels, int taps, int spatial, bool accumulate)
    {
        var (kcStep, transposed) = Gemm.SumOrder(GemmKernelKind.Auto, outChannels, taps, spatial);
        int vectors = (outChannels + Lanes - 1) / Lanes, width = vectors * Lanes;
        float[] gradientBuffer = Scratch(ref t_transposed, Math.Min(kcStep, spatial) * width);
        float[] sumsBuffer = Scratch(ref t_sums, taps * width);
        fixed (float* dyT = gradientBuffer, sums = sumsBuffer)
        {
            // sums [taps × width], channels as lanes. Computed directly, the GEMM adds each block's chains to C, so
            // sums starts as dW when accumulating; computed transposed, it adds the blocks' chains up first and C at the end.
            bool startFromC = accumulate && !transposed;
            if (startFromC) TransposeInto(weightGradient, outChannels, taps, taps, sums, width);
            for (int pc = 0; pc < spatial; pc += kcStep)
            {
                int kc = Math.Min(kcStep, spatial - pc);
                bool add = pc > 0 || startFromC;
                // One k block's gradient at a time, so that it stays in L1 while every tap runs down it.
                TransposeInto(outputGradient + pc, outChannels, kc, spatial, dyT, width);
                for (int t0 = 0; t0 < taps; t0 += TapsPerTile)
                    for (int v0 = 0; v0 < vectors; v0 += VectorsPerTile)
                        Tile(Math.Min(TapsPerTile, taps - t0), Math.Min(VectorsPerTile, vectors - v0), kc, dyT + v0 * Lanes, width,
                            columns + (nint)t0 * spatial + pc, spatial, sums + (nint)t0 * width + v0 * Lanes, add);
            }
            for (int c = 0; c < outChannels; c++)
            {
                float* row = weightGradient + (nint)c * taps;
                for (int t = 0; t < taps; t++)
                {
                    float sum = sums[(nint)t * width + c];
                    row[t] = accumulate && transposed ? sum + row[t] : sum;
                }
            }
        }
    }

    private static float[] Scratch(ref float[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length) buffer = new float[Math.Max(length, 1)];
        return buffer;
    }

    /// <summary>
    /// dst[cols × ld] = srcᵀ for src [rows × cols] (row stride <paramref name="stride"/>): rows become the lanes. Columns past <paramref name="rows"/> up to
    /// <paramref name="ld"/> are zeroed (their chains are computed and dropped). 8×8 blocks in registers, the rest scalar.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void TransposeInto(float* src, int rows, int cols, int stride, float* dst, int ld)
    {
        int fullRows = rows / Lanes * Lanes, fullCols = cols / Lanes * Lanes;
        for (int r = 0; r < fullRows; r += Lanes)
        {
            float* s = src + (nint)r * stride;
            int c = 0;
            for (; c < fullCols; c += Lanes)
                GemmPacking.Transpose8x8(s + c, stride, dst + (nint)c * ld + r, ld);
            for (; c < cols; c++)
                for (int i = 0; i < Lanes; i++)
                    dst[(nint)c * ld + r + i] = s[(nint)i * stride + c];
        }
        for (int c = 0; c < cols; c++)
        {
            float* d = dst + (nint)c * ld;
            for (int r = fullRows; r < rows; r++) d[r] = src[(nint)r * stride + c];
            for (int r = rows; r < ld; r++) d[r] = 0f;
        }
    }

    private static unsafe void Tile(int taps, int vectors, nint kc, float* dyT, nint ld, float* columns, nint spatial, float* sums, bool add)
    {
        switch (taps * 4 + vectors)
        {
            case 1 * 4 + 1: Tile<N1, N1>(kc, dyT, ld, columns, spatial, sums, add); break;
            case 1 * 4 + 2: Tile<N1, N2>(kc, dyT, ld, columns, spatial, sums, add); break;
            case 1 * 4 + 3: Tile<N1, N3>(kc, dyT, ld, columns, spatial, sums, add); break;
            case 1 * 4 + 4: Tile<N1, N4>(kc, dyT, ld, columns, spatial, sums, add); break;
            case 2 * 4 + 1: Tile<N2, N1>(kc, dyT, ld, columns, spatial, sums, add); break;
            case 2 * 4 + 2: Tile<N2, N2>(kc, dyT, ld, columns, spatial, sums, add); break;
            case 2 * 4 + 3: Tile<N2, N3>(kc, dyT, ld, columns, spatial, sums, add); break;
            case 2 * 4 + 4: Tile<N2, N4>(kc, dyT, ld, columns, spatial, sums, add); break;
            case 3 * 4 + 1: Tile<N3, N1>(kc, dyT, ld, columns, spatial, sums, add); break;
            case 3 * 4 + 2: Tile<N3, N2>(kc, dyT, ld, columns, spatial, sums, add); break;
            case 3 * 4 + 3: Tile<N3, N3>(kc, dyT, ld, columns, spatial, sums, add); break;
            case 3 * 4 + 4: Tile<N3, N4>(kc, dyT, ld, columns, spatial, sums, add); break;
            default: ThrowHelper.Unreachable(); break;
        }
    }

    /// <summary>
    /// Up to 3 taps × 4 vectors of 8 channels: for each, one fused multiply-add chain from zero over kc positions in
    /// order, of dyT[p, v·8 + lane]·columns[t, p], stored at sums[t, v·8 + lane] (row stride ld), or added to it.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Tile<TTaps, TVectors>(nint kc, float* dyT, nint ld, float* columns, nint spatial, float* sums, bool add)
        where TTaps : struct, IConstant where TVectors : struct, IConstant
    {
        int taps = TTaps.Value, vectors = TVectors.Value;
        Vector256<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector256<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector256<float> a20 = default, a21 = default, a22 = default, a23 = default;
        float* x0 = columns, x1 = columns + spatial, x2 = columns + 2 * spatial;
        for (nint p = 0; p < kc; p++)
        {
            var b0 = Vector256.Create(x0[p]);
            var b1 = taps > 1 ? Vector256.Create(x1[p]) : default;
            var b2 = taps > 2 ? Vector256.Create(x2[p]) : default;
            float* d = dyT + p * ld;
            { var v = Vector256.Load(d); a00 = Vector256.FusedMultiplyAdd(v, b0, a00); if (taps > 1) a10 = Vector256.FusedMultiplyAdd(v, b1, a10); if (taps > 2) a20 = Vector256.FusedMultiplyAdd(v, b2, a20); }
            if (vectors > 1) { var v = Vector256.Load(d + 8); a01 = Vector256.FusedMultiplyAdd(v, b0, a01); if (taps > 1) a11 = Vector256.FusedMultiplyAdd(v, b1, a11); if (taps > 2) a21 = Vector256.FusedMultiplyAdd(v, b2, a21); }
            if (vectors > 2) { var v = Vector256.Load(d + 16); a02 = Vector256.FusedMultiplyAdd(v, b0, a02); if (taps > 1) a12 = Vector256.FusedMultiplyAdd(v, b1, a12); if (taps > 2) a22 = Vector256.FusedMultiplyAdd(v, b2, a22); }
            if (vectors > 3) { var v = Vector256.Load(d + 24); a03 = Vector256.FusedMultiplyAdd(v, b0, a03); if (taps > 1) a13 = Vector256.FusedMultiplyAdd(v, b1, a13); if (taps > 2) a23 = Vector256.FusedMultiplyAdd(v, b2, a23); }
        }
        PutRow(vectors, sums, add, a00, a01, a02, a03);
        if (taps > 1) PutRow(vectors, sums + ld, add, a10, a11, a12, a13);
        if (taps > 2) PutRow(vectors, sums + 2 * ld, add, a20, a21, a22, a23);
    }

    /// <summary>One tap's row of a tile: its first <paramref name="vectors"/> channel vectors, put at <paramref name="row"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PutRow(int vectors, float* row, bool add, Vector256<float> v0, Vector256<float> v1, Vector256<float> v2, Vector256<float> v3)
    {
        Put(v0, row, add);
        if (vectors > 1) Put(v1, row + 8, add);
        if (vectors > 2) Put(v2, row + 16, add);
        if (vectors > 3) Put(v3, row + 24, add);
    }

    /// <summary>The chain as it is, or added to what is there: chain + sum, as the GEMM adds a block to C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Put(Vector256<float> chain, float* at, bool add) =>
        Vector256.Store(add ? chain + Vector256.Load(at) : chain, at);
}
