using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Shears.Tensors;

/// <summary>
/// A stride-1 convolution and the 2×2, stride-2 max-pool after it, computed together: the pooled output
/// [batch, out, pooledH, pooledW] and, for each window, which of its four convolution outputs won (0 top-left,
/// 1 top-right, 2 bottom-left, 3 bottom-right: the first maximum in that order, a NaN winning as in MaxPool2d).
/// Then the weight and bias gradients from the pooled output's gradient and those winners.
/// </summary>
/// <remarks>
/// <para>The full-size convolution output is never written. Apart, CNN-3's first convolution writes 100 KB an
/// image, the pool reads it, the pool's backward writes a gradient of the same size, and the weight gradient reads
/// it back; together the stage writes a quarter of that once (the pooled values and their winners). Only a
/// window's winner gets a gradient, so the weight gradient takes a quarter of the products the full-size one
/// takes, and pooled outputs whose gradient is zero (ReLU cut them) take none.</para>
/// <para>Vectors run along a pooled row, <see cref="Lanes"/> pooled columns at a time, two output channels at a
/// time. A pooled column j's two convolution columns read input columns 2j + d for d = 0…k, so each input row is
/// split once per image into its even and its odd columns: every (tap, window position) pair then reads one
/// contiguous vector. The split rows carry the convolution's zero padding and zeros past the last pooled column,
/// so nothing is read outside them. A row's last vector is moved left to end at the row's end, overlapping the one
/// before (<see cref="Geometry.ChunkStart"/>); only a row shorter than a vector is stored, and its gradient read,
/// through a copy.</para>
/// <para>Each output is one chain of fused multiply-adds over the taps in order, from zero, and then the bias: what
/// im2col and GEMM compute where the taps fit one block of a vector kernel (CNN-3's 9), so the forward gives the
/// bits of <see cref="Convolution.Forward"/> pooled by MaxPool2d. Only the weight gradient's order of sums is its own.</para>
/// <para>Every lane does the same fused multiply-adds in the same order whether Vector256 runs in hardware or in
/// software, so the results are the same bits on AVX2 and AVX-512 machines and without vector instructions.
/// The weight gradient sums each group of <see cref="Convolution.GroupSize"/> images into a partial of its own,
/// and the partials are added in group order, so the bits do not depend on the thread count either, and a batch
/// run in consecutive chunks of whole groups gives those of one call.</para>
/// </remarks>
public static class ConvolutionMaxPool
{
    /// <summary>Pooled columns per vector.</summary>
    public const int Lanes = 8;

    [ThreadStatic] private static float[]? t_split;
    [ThreadStatic] private static Vector256<float>[]? t_sums;

    /// <summary>Whether a convolution of this geometry can run with the pool: stride 1, and a convolution output of at least one whole 2×2 window.</summary>
    public static bool Supports(int height, int width, int kernel, int padding, int stride) =>
        stride == 1 && kernel >= 1 && padding >= 0 && height + 2 * padding - kernel + 1 >= 2 && width + 2 * padding - kernel + 1 >= 2;

    /// <summary>
    /// pooled [batch, out, pooledH, pooledW] = maxpool2×2(conv(images, weight) + bias), and each window's winner
    /// in <paramref name="winners"/> (same shape). pooledH and pooledW are half the convolution's output, rounded down.
    /// </summary>
    public static unsafe void Forward(
        ReadOnlySpan<float> images, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> pooled, Span<int> winners,
        int batch, int inChannels, int height, int width, int outChannels, int kernel, int padding)
    {
        var g = Geometry.Create(batch, inChannels, height, width, outChannels, kernel, padding);
        g.Check(nameof(images), images.Length, g.ImagesLength);
        g.Check(nameof(weight), weight.Length, g.WeightLength);
        g.Check(nameof(bias), bias.Length, outChannels);
        g.Check(nameof(pooled), pooled.Length, g.PooledLength);
        g.Check(nameof(winners), winners.Length, g.PooledLength);
        if (batch == 0) return;
        fixed (float* x = images, w = weight, b = bias, y = pooled)
        fixed (int* win = winners)
        {
            var work = new ForwardWork(g, x, w, b, y, win);
            ForkJoin.Run(work, g.Groups);
        }
    }

    /// <summary>
    /// weightGradient [out, in, k, k] and biasGradient [out] from the images and winners of the forward and the
    /// gradient with respect to its pooled output. As <see cref="Convolution.WeightGradient"/>: overwritten, or with
    /// <paramref name="continuing"/> set (a later chunk of a batch, in whole groups) added to, the bias summed in
    /// double with its running totals in <paramref name="biasTotals"/>.
    /// </summary>
    public static unsafe void WeightGradient(
        ReadOnlySpan<float> images, ReadOnlySpan<int> winners, ReadOnlySpan<float> pooledGradient, Span<float> weightGradient, Span<float> biasGradient,
        int batch, int inChannels, int height, int width, int outChannels, int kernel, int padding,
        Span<double> biasTotals = default, bool continuing = false)
    {
        var g = Geometry.Create(batch, inChannels, height, width, outChannels, kernel, padding);
        g.Check(nameof(images), images.Length, g.ImagesLength);
        g.Check(nameof(winners), winners.Length, g.PooledLength);
        g.Check(nameof(pooledGradient), pooledGradient.Length, g.PooledLength);
        g.Check(nameof(weightGradient), weightGradient.Length, g.WeightLength);
        g.Check(nameof(biasGradient), biasGradient.Length, outChannels);
        if (!biasTotals.IsEmpty) g.Check(nameof(biasTotals), biasTotals.Length, outChannels);
        else if (continuing) throw new ArgumentException("Continuing a weight gradient needs the bias totals it left.", nameof(biasTotals));
        int weights = g.WeightLength;
        if (g.Groups == 0)
        {
            Convolution.NoImages(weightGradient[..weights], biasGradient[..outChannels], biasTotals.IsEmpty ? default : biasTotals[..outChannels], continuing);
            return;
        }
        float[] partials = ArrayPool<float>.Shared.Rent(g.Groups * weights);
        double[] biasPartials = ArrayPool<double>.Shared.Rent(g.Groups * outChannels);
        try
        {
            fixed (float* x = images, dy = pooledGradient, p = partials)
            fixed (int* win = winners)
            fixed (double* pb = biasPartials)
            {
                var work = new WeightGradientWork(g, x, win, dy, p, pb);
                ForkJoin.Run(work, g.Groups);
            }
            Convolution.AddGroups(partials, g.Groups, weightGradient[..weights], continuing);
            Convolution.SumBias(biasPartials, g.Groups, biasGradient[..outChannels], biasTotals.IsEmpty ? default : biasTotals[..outChannels], continuing);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(partials);
            ArrayPool<double>.Shared.Return(biasPartials);
        }
    }

    private readonly struct Geometry
    {
        public readonly int Batch, InChannels, Height, Width, OutChannels, Kernel, Padding, PooledH, PooledW;
        /// <summary>Vectors per pooled row.</summary>
        public readonly int Chunks;
        /// <summary>Floats in each half (even columns, odd columns) of a split row.</summary>
        public readonly int HalfRow;
        /// <summary>Padded input rows the pooled rows read, per input channel.</summary>
        public readonly int Rows;

        private Geometry(int batch, int inChannels, int height, int width, int outChannels, int kernel, int padding)
        {
            Batch = batch; InChannels = inChannels; Height = height; Width = width;
            OutChannels = outChannels; Kernel = kernel; Padding = padding;
            PooledH = (height + 2 * padding - kernel + 1) / 2;
            PooledW = (width + 2 * padding - kernel + 1) / 2;
            Chunks = (PooledW + Lanes - 1) / Lanes;
            HalfRow = Chunks * Lanes + kernel / 2;
            Rows = 2 * PooledH + kernel - 1;
        }

        public static Geometry Create(int batch, int inChannels, int height, int width, int outChannels, int kernel, int padding)
        {
            if (batch < 0) ThrowHelper.Negative(nameof(batch), batch);
            if (inChannels < 1) ThrowHelper.NotPositive(nameof(inChannels), inChannels);
            if (outChannels < 1) ThrowHelper.NotPositive(nameof(outChannels), outChannels);
            if (kernel < 1) ThrowHelper.NotPositive(nameof(kernel), kernel);
            if (padding < 0) ThrowHelper.Negative(nameof(padding), padding);
            if (!Supports(height, width, kernel, padding, 1))
                throw new ArgumentException($"A {height}×{width} image with a {kernel}×{kernel} kernel and padding {padding} has no whole 2×2 window to pool.", nameof(height));
            var g = new Geometry(batch, inChannels, height, width, outChannels, kernel, padding);
            if ((long)batch * inChannels * height * width > Array.MaxLength) ThrowHelper.TooLarge("The image batch", (long)batch * inChannels * height * width);
            if ((long)batch * outChannels * g.PooledH * g.PooledW > Array.MaxLength) ThrowHelper.TooLarge("The pooled batch", (long)batch * outChannels * g.PooledH * g.PooledW);
            if ((long)inChannels * g.Rows * 2 * g.HalfRow > Array.MaxLength) ThrowHelper.TooLarge("One image's split rows", (long)inChannels * g.Rows * 2 * g.HalfRow);
            return g;
        }

        public void Check(string name, int length, long need) => ThrowHelper.IfTooShort(name, length, need);

        /// <summary>
        /// The first pooled column of vector <paramref name="chunk"/> of a row. The last vector of a row at least a
        /// vector long is moved left to end at the row's end, overlapping the one before: the forward recomputes those
        /// windows to the same bits, and the weight gradient skips the lanes it already took
        /// (<see cref="ChunkSkip"/>). A shorter row's one vector starts at 0 and runs past its end.
        /// </summary>
        public int ChunkStart(int chunk) => PooledW >= Lanes ? Math.Min(chunk * Lanes, PooledW - Lanes) : 0;

        /// <summary>Lanes of vector <paramref name="chunk"/> that the vector before it already covered.</summary>
        public int ChunkSkip(int chunk) => chunk * Lanes - ChunkStart(chunk);

        public int Taps => InChannels * Kernel * Kernel;
        public int WeightLength => OutChannels * Taps;
        public int ImageSize => InChannels * Height * Width;
        public int PooledPlane => PooledH * PooledW;
        public int PooledSize => OutChannels * PooledPlane;
        public long ImagesLength => (long)Batch * ImageSize;
        public long PooledLength => (long)Batch * PooledSize;
        public int SplitRow => 2 * HalfRow;
        public int SplitLength => InChannels * Rows * SplitRow;
        public int Groups => (Batch + Convolution.GroupSize - 1) / Convolution.GroupSize;
        public (int First, int End) Images(int group) => (group * Convolution.GroupSize, Math.Min(Batch, (group + 1) * Convolution.GroupSize));

        /// <summary>
        /// split[(ci·Rows + r)·SplitRow + parity·HalfRow + j] = the padded image's [ci, r, 2j + parity], zero
        /// outside the image.
        /// </summary>
        public unsafe void Split(float* image, float* split)
        {
            for (int ci = 0; ci < InChannels; ci++)
                for (int r = 0; r < Rows; r++)
                {
                    float* even = split + (ci * Rows + r) * SplitRow, odd = even + HalfRow;
                    int sourceRow = r - Padding;
                    if ((uint)sourceRow >= (uint)Height)
                    {
                        new Span<float>(even, SplitRow).Clear();
                        continue;
                    }
                    float* source = image + (ci * Height + sourceRow) * Width;
                    for (int j = 0; j < HalfRow; j++)
                    {
                        int column = 2 * j - Padding;
                        even[j] = (uint)column < (uint)Width ? source[column] : 0f;
                        odd[j] = (uint)(column + 1) < (uint)Width ? source[column + 1] : 0f;
                    }
                }
        }

        /// <summary>The vector of input column 2j + <paramref name="offset"/> for the chunk's pooled columns j, from a split row (already advanced to the chunk).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public unsafe Vector256<float> Columns(float* row, int offset) => Vector256.Load(row + (offset & 1) * HalfRow + (offset >> 1));
    }

    /// <summary>This thread's split-row scratch, grown as needed.</summary>
    private static float[] SplitScratch(int length)
    {
        var split = t_split;
        if (split is null || split.Length < length) t_split = split = new float[length];
        return split;
    }

    /// <summary>
    /// A 3×3 window vector's inputs: rJdD is split row J's input columns 2j + D for the vector's pooled columns j (the
    /// even columns, the odd ones, each again one further on). Its 36 products (9 taps × 4 window positions) read
    /// these 16 vectors, where a loop over the taps reloads one for each product and works out its address.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Load3x3Window(float* rows, int splitRow, int halfRow,
        out Vector256<float> r0d0, out Vector256<float> r0d1, out Vector256<float> r0d2, out Vector256<float> r0d3,
        out Vector256<float> r1d0, out Vector256<float> r1d1, out Vector256<float> r1d2, out Vector256<float> r1d3,
        out Vector256<float> r2d0, out Vector256<float> r2d1, out Vector256<float> r2d2, out Vector256<float> r2d3,
        out Vector256<float> r3d0, out Vector256<float> r3d1, out Vector256<float> r3d2, out Vector256<float> r3d3)
    {
        float* r = rows;
        r0d0 = Vector256.Load(r); r0d1 = Vector256.Load(r + halfRow); r0d2 = Vector256.Load(r + 1); r0d3 = Vector256.Load(r + halfRow + 1);
        r += splitRow;
        r1d0 = Vector256.Load(r); r1d1 = Vector256.Load(r + halfRow); r1d2 = Vector256.Load(r + 1); r1d3 = Vector256.Load(r + halfRow + 1);
        r += splitRow;
        r2d0 = Vector256.Load(r); r2d1 = Vector256.Load(r + halfRow); r2d2 = Vector256.Load(r + 1); r2d3 = Vector256.Load(r + halfRow + 1);
        r += splitRow;
        r3d0 = Vector256.Load(r); r3d1 = Vector256.Load(r + halfRow); r3d2 = Vector256.Load(r + 1); r3d3 = Vector256.Load(r + halfRow + 1);
    }

    /// <summary>The four convolution outputs of a window's vector: its top-left, top-right, bottom-left and bottom-right positions.</summary>
    private struct Window
    {
        public Vector256<float> TopLeft, TopRight, BottomLeft, BottomRight;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add(Vector256<float> tap, Vector256<float> a, Vector256<float> b, Vector256<float> c, Vector256<float> d)
        {
            TopLeft = Vector256.FusedMultiplyAdd(tap, a, TopLeft);
            TopRight = Vector256.FusedMultiplyAdd(tap, b, TopRight);
            BottomLeft = Vector256.FusedMultiplyAdd(tap, c, BottomLeft);
            BottomRight = Vector256.FusedMultiplyAdd(tap, d, BottomRight);
        }

        /// <summary>
        /// The window's maximum after the bias, and which position holds it: a later position wins where it is
        /// larger, or NaN where the best so far is not (the first maximum, and the first NaN).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly (Vector256<float> Best, Vector256<int> Winner) Pick(Vector256<float> bias)
        {
            var best = TopLeft + bias;
            var winner = Vector256<int>.Zero;
            Take(TopRight + bias, 1, ref best, ref winner);
            Take(BottomLeft + bias, 2, ref best, ref winner);
            Take(BottomRight + bias, 3, ref best, ref winner);
            return (best, winner);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Take(Vector256<float> value, int position, ref Vector256<float> best, ref Vector256<int> winner)
        {
            var take = Vector256.GreaterThan(value, best) | (~Vector256.Equals(value, value) & Vector256.Equals(best, best));
            best = Vector256.ConditionalSelect(take, value, best);
            winner = Vector256.ConditionalSelect(take.AsInt32(), Vector256.Create(position), winner);
        }
    }

    /// <summary>
    /// Two output channels at a time: each window position's sum is a chain of dependent fused multiply-adds, so
    /// one channel's four chains leave the multiply-add units waiting on their latency; two channels' eight keep
    /// them busy, and share the window's input vectors. (An odd last channel runs as its own pair and keeps one.)
    /// </summary>
    private readonly unsafe struct ForwardWork(Geometry g, float* images, float* weight, float* bias, float* pooled, int* winners) : IPartitionedWork
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int partition)
        {
            var (first, end) = g.Images(partition);
            float* lastValues = stackalloc float[Lanes];
            int* lastWinners = stackalloc int[Lanes];
            fixed (float* split = SplitScratch(g.SplitLength))
            {
                for (int n = first; n < end; n++)
                {
                    g.Split(images + (long)n * g.ImageSize, split);
                    for (int c = 0; c < g.OutChannels; c += 2)
                    {
                        int c1 = Math.Min(c + 1, g.OutChannels - 1);
                        float* w0 = weight + c * g.Taps, w1 = weight + c1 * g.Taps;
                        Vector256<float> b0 = Vector256.Create(bias[c]), b1 = Vector256.Create(bias[c1]);
                        long plane0 = (long)n * g.PooledSize + c * g.PooledPlane, plane1 = (long)n * g.PooledSize + c1 * g.PooledPlane;
                        for (int py = 0; py < g.PooledH; py++)
                            for (int chunk = 0; chunk < g.Chunks; chunk++)
                            {
                                int px = g.ChunkStart(chunk);
                                Window first0 = default, second = default;
                                Sums(split, w0, w1, py, px, ref first0, ref second);
                                var (best, winner) = first0.Pick(b0);
                                Store(best, winner, plane0 + py * g.PooledW + px, lastValues, lastWinners);
                                if (c1 == c) continue;
                                (best, winner) = second.Pick(b1);
                                Store(best, winner, plane1 + py * g.PooledW + px, lastValues, lastWinners);
                            }
                    }
                }
            }
        }

        /// <summary>A window vector's results; a row shorter than a vector gets only its own columns.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Store(Vector256<float> best, Vector256<int> winner, long at, float* lastValues, int* lastWinners)
        {
            if (g.PooledW >= Lanes)
            {
                best.Store(pooled + at);
                winner.Store(winners + at);
                return;
            }
            best.Store(lastValues);
            winner.Store(lastWinners);
            for (int i = 0; i < g.PooledW; i++)
            {
                pooled[at + i] = lastValues[i];
                winners[at + i] = lastWinners[i];
            }
        }

        /// <summary>Both channels' convolution sums (without bias) for the window vector at pooled row py, columns px…: taps in order from zero.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Sums(float* split, float* w0, float* w1, int py, int px, ref Window first, ref Window second)
        {
            int k = g.Kernel;
            for (int ci = 0; ci < g.InChannels; ci++)
            {
                float* rows = split + (ci * g.Rows + 2 * py) * g.SplitRow + px;
                float* taps0 = w0 + ci * k * k, taps1 = w1 + ci * k * k;
                if (k == 3)
                {
                    Sums3x3(rows, taps0, taps1, g.SplitRow, g.HalfRow, ref first, ref second);
                    continue;
                }
                for (int ky = 0; ky < k; ky++)
                {
                    float* top = rows + ky * g.SplitRow, bottom = top + g.SplitRow;
                    for (int kx = 0; kx < k; kx++)
                    {
                        Vector256<float> a = g.Columns(top, kx), b = g.Columns(top, kx + 1), c = g.Columns(bottom, kx), d = g.Columns(bottom, kx + 1);
                        first.Add(Vector256.Create(taps0[ky * k + kx]), a, b, c, d);
                        second.Add(Vector256.Create(taps1[ky * k + kx]), a, b, c, d);
                    }
                }
            }
        }

        /// <summary>The general loop unrolled for a 3×3 kernel (the same fused multiply-adds in the same order): 16 input vectors (<see cref="Load3x3Window"/>) for 72 products.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Sums3x3(float* rows, float* taps0, float* taps1, int splitRow, int halfRow, ref Window first, ref Window second)
        {
            Load3x3Window(rows, splitRow, halfRow, out var r0d0, out var r0d1, out var r0d2, out var r0d3, out var r1d0, out var r1d1, out var r1d2, out var r1d3,
                out var r2d0, out var r2d1, out var r2d2, out var r2d3, out var r3d0, out var r3d1, out var r3d2, out var r3d3);
            first.Add(Vector256.Create(taps0[0]), r0d0, r0d1, r1d0, r1d1);
            second.Add(Vector256.Create(taps1[0]), r0d0, r0d1, r1d0, r1d1);
            first.Add(Vector256.Create(taps0[1]), r0d1, r0d2, r1d1, r1d2);
            second.Add(Vector256.Create(taps1[1]), r0d1, r0d2, r1d1, r1d2);
            first.Add(Vector256.Create(taps0[2]), r0d2, r0d3, r1d2, r1d3);
            second.Add(Vector256.Create(taps1[2]), r0d2, r0d3, r1d2, r1d3);
            first.Add(Vector256.Create(taps0[3]), r1d0, r1d1, r2d0, r2d1);
            second.Add(Vector256.Create(taps1[3]), r1d0, r1d1, r2d0, r2d1);
            first.Add(Vector256.Create(taps0[4]), r1d1, r1d2, r2d1, r2d2);
            second.Add(Vector256.Create(taps1[4]), r1d1, r1d2, r2d1, r2d2);
            first.Add(Vector256.Create(taps0[5]), r1d2, r1d3, r2d2, r2d3);
            second.Add(Vector256.Create(taps1[5]), r1d2, r1d3, r2d2, r2d3);
            first.Add(Vector256.Create(taps0[6]), r2d0, r2d1, r3d0, r3d1);
            second.Add(Vector256.Create(taps1[6]), r2d0, r2d1, r3d0, r3d1);
            first.Add(Vector256.Create(taps0[7]), r2d1, r2d2, r3d1, r3d2);
            second.Add(Vector256.Create(taps1[7]), r2d1, r2d2, r3d1, r3d2);
            first.Add(Vector256.Create(taps0[8]), r2d2, r2d3, r3d2, r3d3);
            second.Add(Vector256.Create(taps1[8]), r2d2, r2d3, r3d2, r3d3);
        }
    }

    private readonly unsafe struct WeightGradientWork(Geometry g, float* images, int* winners, float* pooledGradient, float* partials, double* biasPartials) : IPartitionedWork
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int partition)
        {
            var (first, end) = g.Images(partition);
            int taps = g.Taps, k = g.Kernel;
            var sumsArray = t_sums;
            if (sumsArray is null || sumsArray.Length < g.WeightLength) t_sums = sumsArray = new Vector256<float>[g.WeightLength];
            double* db = biasPartials + (long)partition * g.OutChannels;
            for (int c = 0; c < g.OutChannels; c++) db[c] = 0;
            float* lastGradient = stackalloc float[Lanes];
            // Row s of these masks keeps lanes s and up: an overlapping last vector drops the lanes the one before took.
            int* laneKept = stackalloc int[Lanes * Lanes];
            for (int skip = 0; skip < Lanes; skip++)
                for (int i = 0; i < Lanes; i++) laneKept[skip * Lanes + i] = i >= skip ? -1 : 0;
            int* lastWinners = stackalloc int[Lanes];
            fixed (float* split = SplitScratch(g.SplitLength))
            fixed (Vector256<float>* sums = sumsArray)
            {
                new Span<Vector256<float>>(sums, g.WeightLength).Clear();
                for (int n = first; n < end; n++)
                {
                    g.Split(images + (long)n * g.ImageSize, split);
                    for (int c = 0; c < g.OutChannels; c++)
                    {
                        long plane = (long)n * g.PooledSize + c * g.PooledPlane;
                        db[c] += TensorPrimitives.Sum(new ReadOnlySpan<float>(pooledGradient + plane, g.PooledPlane));
                        Vector256<float>* channel = sums + c * taps;
                        for (int py = 0; py < g.PooledH; py++)
                            for (int chunk = 0; chunk < g.Chunks; chunk++)
                            {
                                int px = g.ChunkStart(chunk);
                                long at = plane + py * g.PooledW + px;
                                Vector256<float> gradient;
                                Vector256<int> winner;
                                if (g.PooledW >= Lanes)
                                {
                                    gradient = Vector256.Load(pooledGradient + at) & Vector256.Load(laneKept + g.ChunkSkip(chunk) * Lanes).AsSingle();
                                    winner = Vector256.Load(winners + at);
                                }
                                else
                                {
                                    // Zeros past the row: those lanes read split columns that are no pooled column's.
                                    for (int i = 0; i < Lanes; i++)
                                    {
                                        lastGradient[i] = i < g.PooledW ? pooledGradient[at + i] : 0f;
                                        lastWinners[i] = i < g.PooledW ? winners[at + i] : 0;
                                    }
                                    gradient = Vector256.Load(lastGradient);
                                    winner = Vector256.Load(lastWinners);
                                }
                                // Outputs ReLU cut (or that got no gradient) add nothing but exact zeros.
                                if (Vector256.EqualsAll(gradient, Vector256<float>.Zero)) continue;
                                var topLeft = gradient & Vector256.Equals(winner, Vector256<int>.Zero).AsSingle();
                                var topRight = gradient & Vector256.Equals(winner, Vector256.Create(1)).AsSingle();
                                var bottomLeft = gradient & Vector256.Equals(winner, Vector256.Create(2)).AsSingle();
                                var bottomRight = gradient & Vector256.Equals(winner, Vector256.Create(3)).AsSingle();
                                for (int ci = 0; ci < g.InChannels; ci++)
                                {
                                    float* rows = split + (ci * g.Rows + 2 * py) * g.SplitRow + px;
                                    Vector256<float>* sumsOf = channel + ci * k * k;
                                    if (k == 3)
                                    {
                                        Products3x3(rows, sumsOf, g.SplitRow, g.HalfRow, topLeft, topRight, bottomLeft, bottomRight);
                                        continue;
                                    }
                                    for (int ky = 0; ky < k; ky++)
                                    {
                                        float* top = rows + ky * g.SplitRow, bottom = top + g.SplitRow;
                                        for (int kx = 0; kx < k; kx++)
                                            sumsOf[ky * k + kx] = Products(sumsOf[ky * k + kx], topLeft, topRight, bottomLeft, bottomRight,
                                                g.Columns(top, kx), g.Columns(top, kx + 1), g.Columns(bottom, kx), g.Columns(bottom, kx + 1));
                                    }
                                }
                            }
                    }
                }
                float* dw = partials + (long)partition * g.WeightLength;
                for (int i = 0; i < g.WeightLength; i++) dw[i] = SumLanes(sums[i]);
            }
        }

        /// <summary>A tap's sums plus the window's four gradients times the inputs they reach through it, in window order.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<float> Products(Vector256<float> sums, Vector256<float> topLeft, Vector256<float> topRight, Vector256<float> bottomLeft, Vector256<float> bottomRight,
            Vector256<float> a, Vector256<float> b, Vector256<float> c, Vector256<float> d)
        {
            sums = Vector256.FusedMultiplyAdd(topLeft, a, sums);
            sums = Vector256.FusedMultiplyAdd(topRight, b, sums);
            sums = Vector256.FusedMultiplyAdd(bottomLeft, c, sums);
            return Vector256.FusedMultiplyAdd(bottomRight, d, sums);
        }

        /// <summary>The general loop unrolled for a 3×3 kernel (the same products in the same order): 16 input vectors (<see cref="Load3x3Window"/>) for 36 products.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Products3x3(float* rows, Vector256<float>* taps, int splitRow, int halfRow,
            Vector256<float> topLeft, Vector256<float> topRight, Vector256<float> bottomLeft, Vector256<float> bottomRight)
        {
            Load3x3Window(rows, splitRow, halfRow, out var r0d0, out var r0d1, out var r0d2, out var r0d3, out var r1d0, out var r1d1, out var r1d2, out var r1d3,
                out var r2d0, out var r2d1, out var r2d2, out var r2d3, out var r3d0, out var r3d1, out var r3d2, out var r3d3);
            taps[0] = Products(taps[0], topLeft, topRight, bottomLeft, bottomRight, r0d0, r0d1, r1d0, r1d1);
            taps[1] = Products(taps[1], topLeft, topRight, bottomLeft, bottomRight, r0d1, r0d2, r1d1, r1d2);
            taps[2] = Products(taps[2], topLeft, topRight, bottomLeft, bottomRight, r0d2, r0d3, r1d2, r1d3);
            taps[3] = Products(taps[3], topLeft, topRight, bottomLeft, bottomRight, r1d0, r1d1, r2d0, r2d1);
            taps[4] = Products(taps[4], topLeft, topRight, bottomLeft, bottomRight, r1d1, r1d2, r2d1, r2d2);
            taps[5] = Products(taps[5], topLeft, topRight, bottomLeft, bottomRight, r1d2, r1d3, r2d2, r2d3);
            taps[6] = Products(taps[6], topLeft, topRight, bottomLeft, bottomRight, r2d0, r2d1, r3d0, r3d1);
            taps[7] = Products(taps[7], topLeft, topRight, bottomLeft, bottomRight, r2d1, r2d2, r3d1, r3d2);
            taps[8] = Products(taps[8], topLeft, topRight, bottomLeft, bottomRight, r2d2, r2d3, r3d2, r3d3);
        }

        /// <summary>The lanes' sum in a fixed order (pairs, then pairs of pairs), the same on every machine.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static float SumLanes(Vector256<float> v) =>
            ((v.GetElement(0) + v.GetElement(1)) + (v.GetElement(2) + v.GetElement(3))) + ((v.GetElement(4) + v.GetElement(5)) + (v.GetElement(6) + v.GetElement(7)));
    }
}
