using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace Shears.Tensors;

/// <summary>
/// 2-D convolution over NCHW batches with a square kernel and weights [out, in, k, k], as ONNX Conv stores
/// them: forward, weight and bias gradients, and input gradient.
/// </summary>
/// <remarks>
/// The batch is cut into groups of <see cref="GroupSize"/> images that run in parallel, one group per core at
/// a time, and each image goes through im2col and GEMM on its own. One image's column matrix (CNN-3's conv2:
/// 288 × 196 floats, 226 KB) stays in L2 between being written and being read, where a column matrix for the
/// whole batch (29 MB) went through memory twice; outputs and gradients are read and written in NCHW
/// directly, without the two layout transposes a batch-wide GEMM needs. The weight gradient is summed per
/// group into its own partial, and the partials are added in group order, so results are bit-for-bit the
/// same whatever the thread count or timing. The weights are packed for the GEMM kernel once per call, not once
/// per image. The weight gradient builds each image's columns again rather than keeping the forward's: redoing
/// im2col in L2 costs less than writing the batch's columns to memory and reading them back.
/// </remarks>
public static class Convolution
{
    /// <summary>Images per parallel work item and per weight-gradient partial.</summary>
    public const int GroupSize = 8;

    [ThreadStatic] private static float[]? t_columns;

    /// <summary>The weights packed once per call for every image's GEMM (the calling thread's; partitions only read it).</summary>
    [ThreadStatic] private static GemmPackedA? t_packedWeights;

    /// <summary>
    /// output [batch, out, outH, outW] = conv(images [batch, in, h, w], weight) + bias. A pruned filter (at most
    /// <see cref="SparseConvolution.ForwardDensity"/> of it nonzero) goes to <see cref="SparseConvolution"/>.
    /// </summary>
    public static unsafe void Forward(
        ReadOnlySpan<float> images, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> output,
        int batch, int inChannels, int height, int width, int outChannels, int kernel, int padding, int stride)
    {
        var g = Geometry.Create(batch, inChannels, height, width, outChannels, kernel, padding, stride);
        g.Check(nameof(images), images.Length, g.ImagesLength);
        g.Check(nameof(weight), weight.Length, g.WeightLength);
        g.Check(nameof(bias), bias.Length, outChannels);
        g.Check(nameof(output), output.Length, g.OutputLength);
        if (g.OutputLength == 0) return;
        if (g.Sparse(weight, SparseConvolution.ForwardDensity))
        {
            SparseConvolution.Forward(images, weight, bias, output, batch, inChannels, height, width, outChannels, kernel, padding);
            return;
        }
        var packed = t_packedWeights ??= new GemmPackedA();
        packed.Pack(Transpose.No, outChannels, g.Taps, weight, g.Taps);
        fixed (float* x = images, b = bias, y = output)
        {
            var work = new ForwardWork(g, x, packed, b, y);
            ForkJoin.Run(work, g.Groups);
        }
    }

    /// <summary>
    /// weightGradient [out, in, k, k] and biasGradient [out] (both overwritten) from the images the forward saw
    /// and the gradient with respect to its output. Given a <paramref name="keep"/> mask, entries it prunes are
    /// not needed: a mask that keeps at most <see cref="SparseConvolution.WeightGradientDensity"/> of the filter
    /// goes to <see cref="SparseConvolution"/>, which leaves them zero. Otherwise each image's product with its
    /// columns is the GEMM's, or for a filter of few taps <see cref="FewTapWeightGradient"/>'s, which gives the same bits.
    /// <para>A batch may be run in consecutive chunks of whole groups (<see cref="GroupSize"/> images; the last chunk
    /// may end short): the first chunk as above, each later one with <paramref name="continuing"/> set, adding its
    /// groups to the gradients the chunks before it left. The bias is summed in double across groups, so the
    /// running double totals travel between chunks in <paramref name="biasTotals"/>. The result is the same, to the
    /// bit, as one call over the whole batch.</para>
    /// </summary>
    public static unsafe void WeightGradient(
        ReadOnlySpan<float> images, ReadOnlySpan<float> outputGradient, Span<float> weightGradient, Span<float> biasGradient,
        int batch, int inChannels, int height, int width, int outChannels, int kernel, int padding, int stride,
        ReadOnlySpan<float> keep = default, Span<double> biasTotals = default, bool continuing = false)
    {
        var g = Geometry.Create(batch, inChannels, height, width, outChannels, kernel, padding, stride);
        g.Check(nameof(images), images.Length, g.ImagesLength);
        g.Check(nameof(outputGradient), outputGradient.Length, g.OutputLength);
        g.Check(nameof(weightGradient), weightGradient.Length, g.WeightLength);
        g.Check(nameof(biasGradient), biasGradient.Length, outChannels);
        if (!keep.IsEmpty && g.Sparse(keep, SparseConvolution.WeightGradientDensity))
        {
            SparseConvolution.WeightGradient(images, outputGradient, keep, weightGradient, biasGradient, batch, inChannels, height, width, outChannels, kernel, padding, biasTotals, continuing);
            return;
        }
        int weights = (int)g.WeightLength;
        if (!biasTotals.IsEmpty) g.Check(nameof(biasTotals), biasTotals.Length, outChannels);
        else if (continuing) throw new ArgumentException("Continuing a weight gradient needs the bias totals it left.", nameof(biasTotals));
        if (g.Groups == 0 || g.Spatial == 0)
        {
            NoImages(weightGradient[..weights], biasGradient[..outChannels], biasTotals.IsEmpty ? default : biasTotals[..outChannels], continuing);
            return;
        }
        float[] partials = ArrayPool<float>.Shared.Rent(g.Groups * weights);
        double[] biasPartials = ArrayPool<double>.Shared.Rent(g.Groups * outChannels);
        try
        {
            fixed (float* x = images, dy = outputGradient, p = partials)
            fixed (double* pb = biasPartials)
            {
                var work = new WeightGradientWork(g, x, dy, p, pb);
                ForkJoin.Run(work, g.Groups);
            }
            AddGroups(partials, g.Groups, weightGradient[..weights], continuing);
            SumBias(biasPartials, g.Groups, biasGradient[..outChannels], biasTotals.IsEmpty ? default : biasTotals[..outChannels], continuing);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(partials);
            ArrayPool<double>.Shared.Return(biasPartials);
        }
    }

    /// <summary>imagesGradient [batch, in, h, w] (overwritten) = the adjoint of the convolution applied to outputGradient; a pruned filter goes to <see cref="SparseConvolution"/>.</summary>
    public static unsafe void InputGradient(
        ReadOnlySpan<float> outputGradient, ReadOnlySpan<float> weight, Span<float> imagesGradient,
        int batch, int inChannels, int height, int width, int outChannels, int kernel, int padding, int stride)
    {
        var g = Geometry.Create(batch, inChannels, height, width, outChannels, kernel, padding, stride);
        g.Check(nameof(outputGradient), outputGradient.Length, g.OutputLength);
        g.Check(nameof(weight), weight.Length, g.WeightLength);
        g.Check(nameof(imagesGradient), imagesGradient.Length, g.ImagesLength);
        if (g.ImagesLength == 0) return;
        if (g.Sparse(weight, SparseConvolution.ForwardDensity))
        {
            SparseConvolution.InputGradient(outputGradient, weight, imagesGradient, batch, inChannels, height, width, outChannels, kernel, padding);
            return;
        }
        // Wᵀ: taps × out, read from W [out × taps] transposed.
        var packed = t_packedWeights ??= new GemmPackedA();
        packed.Pack(Transpose.Yes, g.Taps, outChannels, weight, g.Taps);
        fixed (float* dy = outputGradient, dx = imagesGradient)
        {
            var work = new InputGradientWork(g, dy, packed, dx);
            ForkJoin.Run(work, g.Groups);
        }
    }

    /// <summary>A batch without images: the first chunk's gradients and bias totals are zero, a later chunk adds nothing.</summary>
    internal static void NoImages(Span<float> weightGradient, Span<float> biasGradient, Span<double> biasTotals, bool continuing)
    {
        if (continuing) return;
        weightGradient.Clear();
        biasGradient.Clear();
        biasTotals.Clear();
    }

    /// <summary>
    /// total = the groups' partials (each total.Length long, one after the other) added in group order, onto what
    /// total holds when <paramref name="continuing"/>: the sum does not depend on which thread ran which group, and a
    /// batch run in chunks of whole groups adds the same partials in the same order.
    /// </summary>
    internal static void AddGroups(ReadOnlySpan<float> partials, int groups, Span<float> total, bool continuing)
    {
        int length = total.Length;
        if (!continuing) partials[..length].CopyTo(total);
        for (int group = continuing ? 0 : 1; group < groups; group++)
            TensorPrimitives.Add(total, partials.Slice(group * length, length), total);
    }

    /// <summary>
    /// biasGradient[c] = the sum of the groups' partials for channel c, in group order, in double; continuing from
    /// <paramref name="biasTotals"/> (a chunk after the first) and leaving the new totals there when given.
    /// </summary>
    internal static void SumBias(double[] biasPartials, int groups, Span<float> biasGradient, Span<double> biasTotals, bool continuing)
    {
        int channels = biasGradient.Length;
        for (int c = 0; c < channels; c++)
        {
            double total = continuing ? biasTotals[c] : 0;
            for (int group = 0; group < groups; group++) total += biasPartials[group * channels + c];
            if (!biasTotals.IsEmpty) biasTotals[c] = total;
            biasGradient[c] = (float)total;
        }
    }

    /// <summary>This thread's column scratch, grown as needed (kept for the thread's life: one image's columns).</summary>
    private static float[] Columns(long length)
    {
        var columns = t_columns;
        if (columns is null || columns.Length < length) t_columns = columns = new float[length];
        return columns;
    }

    private readonly struct Geometry
    {
        public readonly int Batch, InChannels, Height, Width, OutChannels, Kernel, Padding, Stride, OutH, OutW;

        private Geometry(int batch, int inChannels, int height, int width, int outChannels, int kernel, int padding, int stride)
        {
            Batch = batch; InChannels = inChannels; Height = height; Width = width;
            OutChannels = outChannels; Kernel = kernel; Padding = padding; Stride = stride;
            OutH = Im2Col.OutputSize(height, kernel, padding, stride);
            OutW = Im2Col.OutputSize(width, kernel, padding, stride);
        }

        public static Geometry Create(int batch, int inChannels, int height, int width, int outChannels, int kernel, int padding, int stride)
        {
            if (batch < 0) ThrowHelper.Negative(nameof(batch), batch);
            if (inChannels < 1) ThrowHelper.NotPositive(nameof(inChannels), inChannels);
            if (outChannels < 1) ThrowHelper.NotPositive(nameof(outChannels), outChannels);
            if (height < 0) ThrowHelper.Negative(nameof(height), height);
            if (width < 0) ThrowHelper.Negative(nameof(width), width);
            var g = new Geometry(batch, inChannels, height, width, outChannels, kernel, padding, stride);
            if (g.ImagesLength > Array.MaxLength) ThrowHelper.TooLarge("The image batch", g.ImagesLength);
            if (g.OutputLength > Array.MaxLength) ThrowHelper.TooLarge("The output batch", g.OutputLength);
            if (g.ColumnsLength > Array.MaxLength) ThrowHelper.TooLarge("One image's column matrix", g.ColumnsLength);
            return g;
        }

        public void Check(string name, int length, long need) => ThrowHelper.IfTooShort(name, length, need);

        public int Taps => InChannels * Kernel * Kernel;
        public int Spatial => OutH * OutW;
        public int ImageSize => InChannels * Height * Width;
        public int OutputSize => OutChannels * Spatial;
        public long ImagesLength => (long)Batch * InChannels * Height * Width;
        public long OutputLength => (long)Batch * OutChannels * OutH * OutW;
        public long WeightLength => (long)OutChannels * Taps;
        public long ColumnsLength => (long)Taps * Spatial;
        public int Groups => (Batch + GroupSize - 1) / GroupSize;

        /// <summary>Whether <paramref name="filter"/> (weights or a keep mask) is sparse enough for <see cref="SparseConvolution"/>, which needs stride 1.</summary>
        public bool Sparse(ReadOnlySpan<float> filter, double density) =>
            SparseConvolution.Supports(Kernel, Padding, Stride) && Spatial > 0 && Density.Of(filter[..(int)WeightLength]) <= density;

        /// <summary>A 1×1 kernel with stride 1 and no padding reads the image itself as its column matrix.</summary>
        public bool ImageIsColumns => Kernel == 1 && Stride == 1 && Padding == 0;

        public (int First, int End) Images(int group) => (group * GroupSize, Math.Min(Batch, (group + 1) * GroupSize));

        /// <summary>One image's column matrix [taps, spatial]: this thread's scratch, or the image itself.</summary>
        public unsafe ReadOnlySpan<float> ColumnsOf(float* image, float[] scratch)
        {
            var source = new ReadOnlySpan<float>(image, ImageSize);
            if (ImageIsColumns) return source;
            var columns = scratch.AsSpan(0, (int)ColumnsLength);
            Im2Col.Forward(source, 1, InChannels, Height, Width, Kernel, Padding, Stride, columns);
            return columns;
        }
    }

    private readonly unsafe struct ForwardWork(Geometry g, float* images, GemmPackedA weight, float* bias, float* output) : IPartitionedWork
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int partition)
        {
            var (first, end) = g.Images(partition);
            float[] scratch = Columns(g.ColumnsLength);
            int spatial = g.Spatial;
            for (int n = first; n < end; n++)
            {
                var columns = g.ColumnsOf(images + (long)n * g.ImageSize, scratch);
                var y = new Span<float>(output + (long)n * g.OutputSize, g.OutputSize);
                Gemm.Multiply(weight, Transpose.No, spatial, columns, spatial, y, spatial);
                for (int c = 0; c < g.OutChannels; c++)
                {
                    var row = y.Slice(c * spatial, spatial);
                    TensorPrimitives.Add(row, bias[c], row);
                }
            }
        }
    }

    private readonly unsafe struct WeightGradientWork(Geometry g, float* images, float* outputGradient, float* partials, double* biasPartials) : IPartitionedWork
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int partition)
        {
            var (first, end) = g.Images(partition);
            float[] scratch = Columns(g.ColumnsLength);
            int spatial = g.Spatial, taps = g.Taps;
            var dw = new Span<float>(partials + (long)partition * g.WeightLength, (int)g.WeightLength);
            double* db = biasPartials + (long)partition * g.OutChannels;
            for (int c = 0; c < g.OutChannels; c++) db[c] = 0;
            bool fewTaps = FewTapWeightGradient.Takes(taps, spatial);
            for (int n = first; n < end; n++)
            {
                var columns = g.ColumnsOf(images + (long)n * g.ImageSize, scratch);
                var dy = new ReadOnlySpan<float>(outputGradient + (long)n * g.OutputSize, g.OutputSize);
                // dW[out × taps] (+)= dY[out × spatial] · columnsᵀ
                if (fewTaps)
                    fixed (float* c = columns, w = dw)
                        FewTapWeightGradient.Multiply(outputGradient + (long)n * g.OutputSize, c, w, g.OutChannels, taps, spatial, accumulate: n != first);
                else
                    Gemm.Multiply(Transpose.No, Transpose.Yes, g.OutChannels, taps, spatial, dy, spatial, columns, spatial, dw, taps, beta: n == first ? 0f : 1f);
                for (int c = 0; c < g.OutChannels; c++) db[c] += TensorPrimitives.Sum(dy.Slice(c * spatial, spatial));
            }
        }
    }

    private readonly unsafe struct InputGradientWork(Geometry g, float* outputGradient, GemmPackedA weightTransposed, float* imagesGradient) : IPartitionedWork
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int partition)
        {
            var (first, end) = g.Images(partition);
            int spatial = g.Spatial;
            float[] scratch = Columns(g.ColumnsLength);
            for (int n = first; n < end; n++)
            {
                var dy = new ReadOnlySpan<float>(outputGradient + (long)n * g.OutputSize, g.OutputSize);
                var dx = new Span<float>(imagesGradient + (long)n * g.ImageSize, g.ImageSize);
                // dColumns[taps × spatial] = Wᵀ · dY, then col2im (or straight into dX for a 1×1 kernel).
                var dcolumns = g.ImageIsColumns ? dx : scratch.AsSpan(0, (int)g.ColumnsLength);
                Gemm.Multiply(weightTransposed, Transpose.No, spatial, dy, spatial, dcolumns, spatial);
                if (!g.ImageIsColumns) Im2Col.BackwardOverwritingColumns(dcolumns, 1, g.InChannels, g.Height, g.Width, g.Kernel, g.Padding, g.Stride, dx);
            }
        }
    }
}
