using System.Runtime.CompilerServices;

namespace Shears.Tensors;

/// <summary>
/// A fully connected layer's products over a pruned weight matrix W [out, in]: y = x·Wᵀ + b, the input gradient
/// dY·W, and the weight gradient dYᵀ·X at the connections a mask keeps. Same layouts and results as the dense
/// GEMMs, up to the order of float sums.
/// </summary>
/// <remarks>
/// The batch is turned on its side first: xᵀ [in, batch] (rows padded to a whole number of vectors with zeros).
/// Then output unit o over the whole batch, yᵀ[o, ·], is a weighted sum of the rows xᵀ[i, ·] of its kept inputs,
/// which <see cref="SparseRuns.Accumulate"/> builds in vector registers; the work is proportional to the
/// connections kept. The input gradient does the same over dYᵀ with W's columns (a counting sort of the kept
/// entries by input), and the weight gradient of a kept (o, i) is the dot product of dYᵀ[o, ·] and xᵀ[i, ·].
/// Each output row is computed by one partition alone, so results do not depend on the thread count.
/// </remarks>
public static class SparseLinear
{
    /// <summary>
    /// Whether the sparse kernels beat the dense GEMMs for a layer with <paramref name="nonzeros"/> weights, from a
    /// cost model fitted to `dotnet run -c Release --project bench/Shears.Benchmarks -- --sparse-linear` (FCN-2's
    /// fc1, batch 128, two cores): the two transposes cost about 0.5 ns per float of a batch row of inputs and
    /// outputs, each kept weight about 0.04 ns per image, and the dense GEMM about 0.005 ns per weight and image.
    /// The transposes do not depend on the density, so a layer with few outputs never pays: CNN-3's fc (3,136 → 10)
    /// at 2% ran 5.8× slower sparse than dense. fc1 measured 0.53× the dense time at 1% and 0.88× at 5% forward,
    /// 0.64–0.82× at 1–2% and 1.10–1.15× at 5% for the gradients, hence a stricter margin for those.
    /// </summary>
    public static bool Pays(int inputs, int outputs, int nonzeros, bool gradient)
    {
        double sparse = 0.5 * (inputs + outputs) + 0.0375 * nonzeros, dense = 0.005 * inputs * (double)outputs;
        return sparse < (gradient ? 0.75 : 0.9) * dense;
    }

    private const int RowsPerPartition = 16;

    [ThreadStatic] private static float[]? t_source, t_result, t_values;
    [ThreadStatic] private static int[]? t_indices, t_offsets, t_starts, t_order;

    /// <summary>y [batch, out] = x [batch, in] · Wᵀ + b, over W's nonzero entries.</summary>
    public static unsafe void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int batch, int inputs, int outputs, Span<float> y)
    {
        Check(batch, inputs, outputs);
        ThrowHelper.IfTooShort(nameof(x), x.Length, (long)batch * inputs);
        ThrowHelper.IfTooShort(nameof(weight), weight.Length, (long)outputs * inputs);
        ThrowHelper.IfTooShort(nameof(bias), bias.Length, outputs);
        ThrowHelper.IfTooShort(nameof(y), y.Length, (long)batch * outputs);
        if (batch == 0) return;
        int stride = Stride(batch);
        float* xt = SparseRuns.PinnedScratch(ref t_source, (long)inputs * stride);
        Transpose(x, batch, inputs, xt, stride);
        // Kept entries in row order: row o's run of taps reads rows i of xᵀ.
        int count = Kept(weight[..(outputs * inputs)], out int[] indices);
        int[] starts = Ints(ref t_starts, outputs + 1), offsets = Ints(ref t_offsets, count);
        float[] values = Floats(ref t_values, count);
        for (int t = 0, o = 0; ; t++)
        {
            int row = t < count ? indices[t] / inputs : outputs;
            while (o <= row && o <= outputs) starts[o++] = t;
            if (t == count) break;
            offsets[t] = indices[t] % inputs * stride;
            values[t] = weight[indices[t]];
        }
        float* yt = SparseRuns.PinnedScratch(ref t_result, (long)outputs * stride);
        Rows(xt, starts, offsets, values, yt, outputs, stride);
        fixed (float* b = bias)
            TransposeBack(yt, stride, batch, outputs, y, b);
    }

    /// <summary>dx [batch, in] (overwritten) = dy [batch, out] · W, over W's nonzero entries.</summary>
    public static unsafe void InputGradient(ReadOnlySpan<float> dy, ReadOnlySpan<float> weight, int batch, int inputs, int outputs, Span<float> dx)
    {
        Check(batch, inputs, outputs);
        ThrowHelper.IfTooShort(nameof(dy), dy.Length, (long)batch * outputs);
        ThrowHelper.IfTooShort(nameof(weight), weight.Length, (long)outputs * inputs);
        ThrowHelper.IfTooShort(nameof(dx), dx.Length, (long)batch * inputs);
        if (batch == 0) return;
        int stride = Stride(batch);
        float* dyt = SparseRuns.PinnedScratch(ref t_source, (long)outputs * stride);
        Transpose(dy, batch, outputs, dyt, stride);
        // Kept entries sorted by input (column) with a counting sort: input i's run of taps reads rows o of dYᵀ.
        int count = Kept(weight[..(outputs * inputs)], out int[] indices);
        int[] starts = Ints(ref t_starts, inputs + 1), offsets = Ints(ref t_offsets, count), order = Ints(ref t_order, inputs);
        float[] values = Floats(ref t_values, count);
        Array.Clear(starts, 0, inputs + 1);
        for (int t = 0; t < count; t++) starts[indices[t] % inputs + 1]++;
        for (int i = 0; i < inputs; i++) starts[i + 1] += starts[i];
        starts.AsSpan(0, inputs).CopyTo(order);
        for (int t = 0; t < count; t++)
        {
            int j = indices[t], at = order[j % inputs]++;
            offsets[at] = j / inputs * stride;
            values[at] = weight[j];
        }
        float* dxt = SparseRuns.PinnedScratch(ref t_result, (long)inputs * stride);
        Rows(dyt, starts, offsets, values, dxt, inputs, stride);
        TransposeBack(dxt, stride, batch, inputs, dx, null);
    }

    /// <summary>dw [out, in] (overwritten) = dyᵀ · x where <paramref name="keep"/> is nonzero, zero elsewhere.</summary>
    public static unsafe void WeightGradient(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, ReadOnlySpan<float> keep, int batch, int inputs, int outputs, Span<float> dw)
    {
        Check(batch, inputs, outputs);
        ThrowHelper.IfTooShort(nameof(dy), dy.Length, (long)batch * outputs);
        ThrowHelper.IfTooShort(nameof(x), x.Length, (long)batch * inputs);
        ThrowHelper.IfTooShort(nameof(keep), keep.Length, (long)outputs * inputs);
        ThrowHelper.IfTooShort(nameof(dw), dw.Length, (long)outputs * inputs);
        int weights = outputs * inputs;
        dw[..weights].Clear();
        if (batch == 0) return;
        int stride = Stride(batch);
        float* xt = SparseRuns.PinnedScratch(ref t_source, (long)inputs * stride);
        float* dyt = SparseRuns.PinnedScratch(ref t_result, (long)outputs * stride);
        Transpose(x, batch, inputs, xt, stride);
        Transpose(dy, batch, outputs, dyt, stride);
        int count = Kept(keep[..weights], out int[] indices);
        fixed (int* idx = indices)
        fixed (float* g = dw)
            ForkJoin.Run(new DotWork(xt, dyt, idx, count, inputs, stride, g), (count + 255) / 256);
    }

    private static void Check(int batch, int inputs, int outputs)
    {
        if (batch < 0) ThrowHelper.Negative(nameof(batch), batch);
        if (inputs < 1) ThrowHelper.NotPositive(nameof(inputs), inputs);
        if (outputs < 1) ThrowHelper.NotPositive(nameof(outputs), outputs);
        if ((long)inputs * outputs > Array.MaxLength) ThrowHelper.TooLarge("The weight matrix", (long)inputs * outputs);
    }

    /// <summary>A transposed row's length: the batch rounded up to a whole 512-bit vector.</summary>
    private static int Stride(int batch) => (batch + 15) & ~15;

    private static int Kept(ReadOnlySpan<float> values, out int[] indices)
    {
        indices = Ints(ref t_indices, values.Length);
        return Density.NonzeroIndices(values, indices);
    }

    private static int[] Ints(ref int[]? cache, int length) => cache is not null && cache.Length >= length ? cache : cache = new int[Math.Max(1, length)];

    private static float[] Floats(ref float[]? cache, int length) => cache is not null && cache.Length >= length ? cache : cache = new float[Math.Max(1, length)];

    /// <summary>dst [cols, stride] = src [rows, cols]ᵀ, the padding columns rows..stride zero.</summary>
    private static unsafe void Transpose(ReadOnlySpan<float> src, int rows, int cols, float* dst, int stride)
    {
        const int Block = 16;
        fixed (float* s = src)
        {
            for (int c0 = 0; c0 < cols; c0 += Block)
            {
                int c1 = Math.Min(cols, c0 + Block);
                for (int r = 0; r < rows; r++)
                {
                    float* row = s + (long)r * cols;
                    for (int c = c0; c < c1; c++) dst[(long)c * stride + r] = row[c];
                }
            }
        }
        if (stride > rows)
            for (int c = 0; c < cols; c++) new Span<float>(dst + (long)c * stride + rows, stride - rows).Clear();
    }

    /// <summary>dst [rows, cols] = src [cols, stride]ᵀ (+ bias[c] on column c).</summary>
    private static unsafe void TransposeBack(float* src, int stride, int rows, int cols, Span<float> dst, float* bias)
    {
        const int Block = 16;
        fixed (float* d = dst)
        {
            for (int r0 = 0; r0 < rows; r0 += Block)
            {
                int r1 = Math.Min(rows, r0 + Block);
                for (int c = 0; c < cols; c++)
                {
                    float* column = src + (long)c * stride;
                    float b = bias is null ? 0f : bias[c];
                    for (int r = r0; r < r1; r++) d[(long)r * cols + c] = column[r] + b;
                }
            }
        }
    }

    /// <summary>result [rows, stride]: row r = Σ values[t] · source[offsets[t] + ·] over r's taps starts[r]..starts[r + 1].</summary>
    private static unsafe void Rows(float* source, int[] starts, int[] offsets, float[] values, float* result, int rows, int stride)
    {
        fixed (int* s = starts, o = offsets)
        fixed (float* v = values)
            ForkJoin.Run(new RowsWork(source, s, o, v, result, rows, stride), (rows + RowsPerPartition - 1) / RowsPerPartition);
    }

    private readonly unsafe struct RowsWork(float* source, int* starts, int* offsets, float* values, float* result, int rows, int stride) : IPartitionedWork
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int partition)
        {
            int end = Math.Min(rows, (partition + 1) * RowsPerPartition);
            for (int r = partition * RowsPerPartition; r < end; r++)
                SparseRuns.Accumulate(source, offsets + starts[r], values + starts[r], starts[r + 1] - starts[r], result + (long)r * stride, stride);
        }
    }

    private readonly unsafe struct DotWork(float* xt, float* dyt, int* indices, int count, int inputs, int stride, float* dw) : IPartitionedWork
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int partition)
        {
            int end = Math.Min(count, (partition + 1) * 256);
            for (int t = partition * 256; t < end; t++)
            {
                int j = indices[t];
                dw[j] = System.Numerics.Tensors.TensorPrimitives.Dot(
                    new ReadOnlySpan<float>(dyt + (long)(j / inputs) * stride, stride), new ReadOnlySpan<float>(xt + (long)(j % inputs) * stride, stride));
            }
        }
    }
}
