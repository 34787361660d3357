using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace Shears.Tensors;

/// <summary>
/// Stride-1 convolution that visits only a pruned filter's nonzero taps: forward, input gradient, and the weight
/// gradient of the connections a mask keeps. Same layouts and results as <see cref="Convolution"/>, up to the
/// order of float sums.
/// </summary>
/// <remarks>
/// Each image is copied into zero-padded planes, (h + 2p) × (w + 2p). At stride 1, output (y, x) of a tap at
/// (kh, kw) reads padded (y + kh, x + kw): over the whole output, laid out with the padded row length, that is
/// one contiguous run of the padded plane starting kh·(w + 2p) + kw floats in. So an output channel is a sum of
/// shifted runs, one per nonzero tap, accumulated in vector registers a chunk at a time; the last 2p columns of
/// each row are junk and are dropped when the rows are written out. No column matrix is built, and the work
/// is proportional to the taps kept: CNN-3's conv2 at 5% density does 1/20 of the dense multiplies.
/// The input gradient is the same correlation run backwards: over the output gradient padded by k − 1 − p,
/// with the filter flipped and its in and out channels swapped. The weight gradient of a kept tap is the dot
/// product of its output channel's gradient (with zeros in the junk columns) and the shifted run it read.
/// Groups of <see cref="Convolution.GroupSize"/> images run in parallel and weight-gradient partials are added
/// in group order, so results do not depend on the thread count.
/// </remarks>
public static class SparseConvolution
{
    /// <summary>
    /// Densities (nonzero taps over all taps) at or below which these kernels beat im2col and GEMM: for the forward
    /// pass and the input gradient, and for the weight gradient. On CNN-3's conv2, batch 128, two cores
    /// (`dotnet run -c Release --project bench/Shears.Benchmarks -- --sparse-conv`), forward and input gradient
    /// take 0.23× the dense time at 5%, 0.64× at 20%, 0.90× at 30% and 1.16× at 40%. The weight gradient, since its
    /// taps share each vector of the output gradient (<see cref="SparseRuns.AccumulateProducts"/>), takes 0.22× at
    /// 5%, 0.63× at 20%, 0.91× at 30% and 1.08× at 40% on training chunks (`--sparse-conv 16`, one thread), where a
    /// dot product per kept tap and image took 0.43×, 1.32×, 1.90× and 2.47× (its threshold was 15%).
    /// <para>The forward's threshold is a speed choice only: where a filter's taps fit one k block of the GEMM kernel
    /// (Cin·k² ≤ 256), both paths sum each output as one fused multiply-add chain over the taps in order, a zero tap
    /// adding nothing, so they agree to the bit. On training chunks (`--sparse-conv 16`, one thread) the sparse forward
    /// is faster up to about 50% (conv2 0.66× at 40%, conv1 0.91×), but taking it for CNN-3's conv1 at 41% slowed the
    /// conv2 after it by more than it saved (iso-accuracy network, one step: conv1 0.97 → 0.80 ms, conv2 6.1 → 6.6).
    /// The gradients' thresholds change the order of sums, so moving them moves every CNN-3 result.</para>
    /// </summary>
    public const double ForwardDensity = 0.3, WeightGradientDensity = 0.3;

    [ThreadStatic] private static float[]? t_padded;
    [ThreadStatic] private static float[]? t_accumulator;
    [ThreadStatic] private static float[]? t_products;
    [ThreadStatic] private static TapList? t_taps;

    /// <summary>Stride 1, and padding under the kernel size (the input gradient pads by k − 1 − p).</summary>
    public static bool Supports(int kernel, int padding, int stride) => stride == 1 && padding >= 0 && padding < kernel;

    /// <summary>output [batch, out, h', w'] = conv(images [batch, in, h, w], weight) + bias, over weight's nonzero taps.</summary>
    public static unsafe void Forward(
        ReadOnlySpan<float> images, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> output,
        int batch, int inChannels, int height, int width, int outChannels, int kernel, int padding)
    {
        var g = Geometry.Create(batch, inChannels, height, width, outChannels, kernel, padding);
        ThrowHelper.IfTooShort(nameof(images), images.Length, g.ImagesLength);
        ThrowHelper.IfTooShort(nameof(weight), weight.Length, g.WeightLength);
        ThrowHelper.IfTooShort(nameof(bias), bias.Length, outChannels);
        ThrowHelper.IfTooShort(nameof(output), output.Length, g.OutputLength);
        if (g.OutputLength == 0) return;
        var source = new Padded(inChannels, height, width, padding, kernel);
        var taps = t_taps ??= new TapList();
        taps.Build(weight, outChannels, inChannels, kernel, source, flip: false);
        fixed (float* x = images, b = bias, y = output)
        fixed (int* start = taps.Start, offset = taps.Offset)
        fixed (float* value = taps.Value)
        {
            var work = new CorrelateWork(batch, source, x, outChannels, start, offset, value, b, y);
            ForkJoin.Run(work, Groups(batch));
        }
    }

    /// <summary>imagesGradient [batch, in, h, w] (overwritten) = the adjoint of the convolution applied to outputGradient, over weight's nonzero taps.</summary>
    public static unsafe void InputGradient(
        ReadOnlySpan<float> outputGradient, ReadOnlySpan<float> weight, Span<float> imagesGradient,
        int batch, int inChannels, int height, int width, int outChannels, int kernel, int padding)
    {
        var g = Geometry.Create(batch, inChannels, height, width, outChannels, kernel, padding);
        ThrowHelper.IfTooShort(nameof(outputGradient), outputGradient.Length, g.OutputLength);
        ThrowHelper.IfTooShort(nameof(weight), weight.Length, g.WeightLength);
        ThrowHelper.IfTooShort(nameof(imagesGradient), imagesGradient.Length, g.ImagesLength);
        if (g.ImagesLength == 0) return;
        // The output gradient padded by k − 1 − p, correlated with the flipped filter, has the input's size.
        var source = new Padded(outChannels, g.OutH, g.OutW, kernel - 1 - padding, kernel);
        var taps = t_taps ??= new TapList();
        taps.Build(weight, outChannels, inChannels, kernel, source, flip: true);
        fixed (float* dy = outputGradient, dx = imagesGradient)
        fixed (int* start = taps.Start, offset = taps.Offset)
        fixed (float* value = taps.Value)
        {
            var work = new CorrelateWork(batch, source, dy, inChannels, start, offset, value, null, dx);
            ForkJoin.Run(work, Groups(batch));
        }
    }

    /// <summary>
    /// weightGradient [out, in, k, k] (overwritten: the gradient where <paramref name="keep"/> is nonzero, zero
    /// elsewhere) and biasGradient [out] (overwritten), from the images the forward saw and the output gradient;
    /// or, with <paramref name="continuing"/>, one later chunk of a batch added on as
    /// <see cref="Convolution.WeightGradient"/> describes.
    /// </summary>
    public static unsafe void WeightGradient(
        ReadOnlySpan<float> images, ReadOnlySpan<float> outputGradient, ReadOnlySpan<float> keep, Span<float> weightGradient, Span<float> biasGradient,
        int batch, int inChannels, int height, int width, int outChannels, int kernel, int padding,
        Span<double> biasTotals = default, bool continuing = false)
    {
        var g = Geometry.Create(batch, inChannels, height, width, outChannels, kernel, padding);
        ThrowHelper.IfTooShort(nameof(images), images.Length, g.ImagesLength);
        ThrowHelper.IfTooShort(nameof(outputGradient), outputGradient.Length, g.OutputLength);
        ThrowHelper.IfTooShort(nameof(keep), keep.Length, g.WeightLength);
        if (!biasTotals.IsEmpty) ThrowHelper.IfTooShort(nameof(biasTotals), biasTotals.Length, outChannels);
        else if (continuing) throw new ArgumentException("Continuing a weight gradient needs the bias totals it left.", nameof(biasTotals));
        ThrowHelper.IfTooShort(nameof(weightGradient), weightGradient.Length, g.WeightLength);
        ThrowHelper.IfTooShort(nameof(biasGradient), biasGradient.Length, outChannels);
        int weights = (int)g.WeightLength, groups = Groups(batch);
        var dw = weightGradient[..weights];
        if (groups == 0 || g.Spatial == 0)
        {
            Convolution.NoImages(dw, biasGradient[..outChannels], biasTotals.IsEmpty ? default : biasTotals[..outChannels], continuing);
            return;
        }
        if (!continuing) dw.Clear();
        var source = new Padded(inChannels, height, width, padding, kernel);
        var taps = t_taps ??= new TapList();
        int kept = taps.BuildKept(keep[..weights], outChannels, inChannels, kernel, source);
        float[] partials = ArrayPool<float>.Shared.Rent(Math.Max(1, groups * kept));
        double[] biasPartials = ArrayPool<double>.Shared.Rent(groups * outChannels);
        try
        {
            fixed (float* x = images, dy = outputGradient, p = partials)
            fixed (double* pb = biasPartials)
            fixed (int* start = taps.Start, offset = taps.Offset)
            {
                var work = new WeightGradientWork(batch, source, g, x, dy, kept, start, offset, p, pb);
                ForkJoin.Run(work, groups);
            }
            // Partials are added in group order: the sum does not depend on which thread ran which group.
            // A later chunk of a batch adds its first group to what the chunks before it left, then the rest in order.
            var total = partials.AsSpan(0, kept);
            if (continuing)
                for (int t = 0; t < kept; t++) total[t] = dw[taps.Index[t]] + total[t];
            for (int group = 1; group < groups; group++)
                TensorPrimitives.Add(total, partials.AsSpan(group * kept, kept), total);
            for (int t = 0; t < kept; t++) dw[taps.Index[t]] = total[t];
            Convolution.SumBias(biasPartials, groups, biasGradient[..outChannels], biasTotals.IsEmpty ? default : biasTotals[..outChannels], continuing);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(partials);
            ArrayPool<double>.Shared.Return(biasPartials);
        }
    }

    private static int Groups(int batch) => (batch + Convolution.GroupSize - 1) / Convolution.GroupSize;

    private readonly struct Geometry
    {
        public readonly int InChannels, Height, Width, OutChannels, OutH, OutW;
        public readonly long ImagesLength, OutputLength, WeightLength;

        private Geometry(int batch, int inChannels, int height, int width, int outChannels, int kernel, int padding)
        {
            InChannels = inChannels; Height = height; Width = width; OutChannels = outChannels;
            OutH = Im2Col.OutputSize(height, kernel, padding, 1);
            OutW = Im2Col.OutputSize(width, kernel, padding, 1);
            ImagesLength = (long)batch * inChannels * height * width;
            OutputLength = (long)batch * outChannels * Math.Max(0, OutH) * Math.Max(0, OutW);
            WeightLength = (long)outChannels * inChannels * kernel * kernel;
        }

        public int Spatial => OutH * OutW;

        public static Geometry Create(int batch, int inChannels, int height, int width, int outChannels, int kernel, int padding)
        {
            if (batch < 0) ThrowHelper.Negative(nameof(batch), batch);
            if (inChannels < 1) ThrowHelper.NotPositive(nameof(inChannels), inChannels);
            if (outChannels < 1) ThrowHelper.NotPositive(nameof(outChannels), outChannels);
            if (kernel < 1) ThrowHelper.NotPositive(nameof(kernel), kernel);
            if (height < 0) ThrowHelper.Negative(nameof(height), height);
            if (width < 0) ThrowHelper.Negative(nameof(width), width);
            if (!Supports(kernel, padding, 1))
                throw new ArgumentOutOfRangeException(nameof(padding), padding, $"Sparse convolution needs padding in [0, kernel − 1]; {padding} with a {kernel}×{kernel} kernel.");
            var g = new Geometry(batch, inChannels, height, width, outChannels, kernel, padding);
            if (g.OutH < 1 || g.OutW < 1)
                throw new ArgumentException($"A {height}×{width} image padded by {padding} is smaller than the {kernel}×{kernel} kernel.");
            if (g.ImagesLength > Array.MaxLength) ThrowHelper.TooLarge("The image batch", g.ImagesLength);
            if (g.OutputLength > Array.MaxLength) ThrowHelper.TooLarge("The output batch", g.OutputLength);
            return g;
        }
    }

    /// <summary>One image's channels, zero-padded, as the kernels read them.</summary>
    private readonly struct Padded
    {
        public readonly int Channels, Height, Width, Padding, PaddedWidth, PlaneLength, OutH, OutW;
        /// <summary>Floats accumulated per output channel: the output rows at the padded row length, rounded up to a whole vector.</summary>
        public readonly int RunLength;
        /// <summary>The padded planes plus the slack the last plane's junk columns read past its end.</summary>
        public readonly long BufferLength;

        public Padded(int channels, int height, int width, int padding, int kernel)
        {
            Channels = channels; Height = height; Width = width; Padding = padding;
            PaddedWidth = width + 2 * padding;
            PlaneLength = (height + 2 * padding) * PaddedWidth;
            OutH = height + 2 * padding - kernel + 1;
            OutW = PaddedWidth - kernel + 1;
            RunLength = (OutH * PaddedWidth + 15) & ~15;
            BufferLength = (long)(channels - 1) * PlaneLength + (long)(kernel - 1) * PaddedWidth + kernel - 1 + RunLength;
        }

        public int ImageSize => Channels * Height * Width;

        /// <summary>Copies one image into the padded planes at <paramref name="buffer"/> (borders and slack zeroed).</summary>
        public unsafe void Fill(float* image, float* buffer)
        {
            new Span<float>(buffer, (int)BufferLength).Clear();
            for (int c = 0; c < Channels; c++)
                for (int y = 0; y < Height; y++)
                    SparseRuns.CopyRow(image + ((long)c * Height + y) * Width, buffer + (long)c * PlaneLength + (long)(y + Padding) * PaddedWidth + Padding, Width);
        }
    }

    /// <summary>
    /// Nonzero taps grouped by the channel they write: for each, where its run starts in the padded planes and its
    /// weight. The weight gradient keeps each tap's index in the filter instead of its weight.
    /// </summary>
    private sealed class TapList
    {
        public int[] Start = [], Offset = [], Index = [];
        public float[] Value = [];

        private void Ensure(int channels, int taps)
        {
            if (Start.Length < channels + 1) Start = new int[channels + 1];
            if (Offset.Length < taps) { Offset = new int[taps]; Index = new int[taps]; Value = new float[taps]; }
        }

        /// <summary>
        /// Forward (flip false): grouped by output channel, reading input channel planes at (kh, kw). Input gradient
        /// (flip true): grouped by input channel, reading output-gradient planes at (k − 1 − kh, k − 1 − kw).
        /// </summary>
        public void Build(ReadOnlySpan<float> weight, int outChannels, int inChannels, int kernel, in Padded source, bool flip)
        {
            int taps = kernel * kernel, writers = flip ? inChannels : outChannels, readers = flip ? outChannels : inChannels;
            Ensure(writers, outChannels * inChannels * taps);
            int n = 0;
            for (int wr = 0; wr < writers; wr++)
            {
                Start[wr] = n;
                for (int rd = 0; rd < readers; rd++)
                {
                    var (o, i) = flip ? (rd, wr) : (wr, rd);
                    var filter = weight.Slice((o * inChannels + i) * taps, taps);
                    for (int kh = 0; kh < kernel; kh++)
                        for (int kw = 0; kw < kernel; kw++)
                        {
                            float v = filter[kh * kernel + kw];
                            if (v == 0f) continue;
                            var (sh, sw) = flip ? (kernel - 1 - kh, kernel - 1 - kw) : (kh, kw);
                            Offset[n] = rd * source.PlaneLength + sh * source.PaddedWidth + sw;
                            Value[n++] = v;
                        }
                }
            }
            Start[writers] = n;
        }

        /// <summary>The taps <paramref name="keep"/> marks, in filter order (so grouped by output channel, as <see cref="Start"/> says); returns how many.</summary>
        public int BuildKept(ReadOnlySpan<float> keep, int outChannels, int inChannels, int kernel, in Padded source)
        {
            int taps = kernel * kernel, perOutput = inChannels * taps;
            Ensure(outChannels, keep.Length);
            int n = 0;
            for (int o = 0; o < outChannels; o++)
            {
                Start[o] = n;
                for (int j = o * perOutput; j < (o + 1) * perOutput; j++)
                {
                    if (keep[j] == 0f) continue;
                    int i = j / taps % inChannels, kh = j % taps / kernel, kw = j % kernel;
                    Offset[n] = i * source.PlaneLength + kh * source.PaddedWidth + kw;
                    Index[n++] = j;
                }
            }
            Start[outChannels] = n;
            return n;
        }
    }

    /// <summary>Writes each output channel as the sum of its taps' shifted runs over one image's padded planes.</summary>
    private readonly unsafe struct CorrelateWork(int batch, Padded source, float* images, int outChannels, int* start, int* offset, float* value, float* bias, float* output) : IPartitionedWork
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int partition)
        {
            int first = partition * Convolution.GroupSize, end = Math.Min(batch, first + Convolution.GroupSize);
            float* src = SparseRuns.PinnedScratch(ref t_padded, source.BufferLength);
            float* acc = SparseRuns.PinnedScratch(ref t_accumulator, source.RunLength);
            int oh = source.OutH, ow = source.OutW, pw = source.PaddedWidth, plane = oh * ow;
            for (int n = first; n < end; n++)
            {
                source.Fill(images + (long)n * source.ImageSize, src);
                float* y = output + (long)n * outChannels * plane;
                for (int c = 0; c < outChannels; c++, y += plane)
                {
                    float b = bias is null ? 0f : bias[c];
                    int count = start[c + 1] - start[c];
                    if (count == 0)
                    {
                        new Span<float>(y, plane).Fill(b);
                        continue;
                    }
                    SparseRuns.Accumulate(src, offset + start[c], value + start[c], count, acc, source.RunLength);
                    for (int r = 0; r < oh; r++)
                        if (bias is null) SparseRuns.CopyRow(acc + r * pw, y + r * ow, ow);
                        else SparseRuns.AddRow(acc + r * pw, b, y + r * ow, ow);
                }
            }
        }
    }

    /// <summary>
    /// Per image: each output channel's gradient at the padded row length (junk columns zero), then
    /// <see cref="SparseRuns.AccumulateProducts"/> for the channel's kept taps. Each tap's lanes accumulate over the
    /// group's images and are summed once at its end, into the group's partial.
    /// </summary>
    private readonly unsafe struct WeightGradientWork(int batch, Padded source, Geometry g, float* images, float* outputGradient, int kept, int* start, int* offset, float* partials, double* biasPartials) : IPartitionedWork
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int partition)
        {
            int first = partition * Convolution.GroupSize, end = Math.Min(batch, first + Convolution.GroupSize);
            int oh = g.OutH, ow = g.OutW, pw = source.PaddedWidth, plane = oh * ow, run = oh * pw, lanes = SparseRuns.ProductLanes;
            float* x = SparseRuns.PinnedScratch(ref t_padded, source.BufferLength);
            float* d = SparseRuns.PinnedScratch(ref t_accumulator, (long)g.OutChannels * run);
            float* acc = SparseRuns.PinnedScratch(ref t_products, (long)Math.Max(1, kept) * lanes);
            float* dw = partials + (long)partition * kept;
            double* db = biasPartials + (long)partition * g.OutChannels;
            new Span<float>(acc, kept * lanes).Clear();
            for (int c = 0; c < g.OutChannels; c++) db[c] = 0;
            new Span<float>(d, g.OutChannels * run).Clear();   // the junk columns stay zero
            for (int n = first; n < end; n++)
            {
                source.Fill(images + (long)n * source.ImageSize, x);
                float* dy = outputGradient + (long)n * g.OutChannels * plane;
                for (int c = 0; c < g.OutChannels; c++)
                {
                    var channel = new ReadOnlySpan<float>(dy + c * plane, plane);
                    db[c] += TensorPrimitives.Sum(channel);
                    int count = start[c + 1] - start[c];
                    if (count == 0) continue;
                    for (int r = 0; r < oh; r++) SparseRuns.CopyRow(dy + c * plane + r * ow, d + c * run + r * pw, ow);
                    SparseRuns.AccumulateProducts(d + c * run, x, offset + start[c], count, acc + (long)start[c] * lanes, run);
                }
            }
            for (int t = 0; t < kept; t++) dw[t] = SparseRuns.SumLanes(acc + (long)t * lanes);
        }
    }
}
