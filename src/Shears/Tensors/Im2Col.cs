using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;

namespace Shears.Tensors;

/// <summary>
/// im2col / col2im over a whole NCHW batch, so one GEMM covers the minibatch. Columns are laid out
/// [channels·k·k, batch·outH·outW]: row r = (c·k + ky)·k + kx, column n·outH·outW + oy·outW + ox; taps that
/// fall outside the (zero-padded) image read 0.
/// </summary>
/// <remarks>
/// Both directions split the work across cores by output ranges fixed by the shapes, and every output value is
/// produced by the same operations in the same order, so results are reproducible bit for bit. Inner loops
/// are contiguous copies (stride 1) or short gathers (larger strides); nothing is allocated.
/// </remarks>
public static class Im2Col
{
    /// <summary>Below this many floats of output a call stays on the calling thread.</summary>
    private const long ParallelThreshold = 1 << 16;

    /// <summary>Output size along one axis: (size + 2·padding − kernel) / stride + 1.</summary>
    public static int OutputSize(int size, int kernel, int padding, int stride)
    {
        if (size < 0) ThrowHelper.Negative(nameof(size), size);
        if (kernel < 1) ThrowHelper.NotPositive(nameof(kernel), kernel);
        if (padding < 0) ThrowHelper.Negative(nameof(padding), padding);
        if (stride < 1) ThrowHelper.NotPositive(nameof(stride), stride);
        long padded = size + 2L * padding;
        if (kernel > padded) ThrowHelper.KernelTooLarge(kernel, size, padding);
        return (int)((padded - kernel) / stride + 1);
    }

    /// <summary>images [batch, channels, height, width] → columns [channels·kernel², batch·outH·outW].</summary>
    public static unsafe void Forward(ReadOnlySpan<float> images, int batch, int channels, int height, int width, int kernel, int padding, int stride, Span<float> columns)
    {
        var s = Geometry.Create(batch, channels, height, width, kernel, padding, stride, images.Length, columns.Length);
        if (s.ColumnsLength > 0 && s.ImagesLength > 0 && columns[..(int)s.ColumnsLength].Overlaps(images[..(int)s.ImagesLength]))
            ThrowHelper.Overlap(nameof(images), nameof(columns));
        if (s.ColumnsLength == 0) return;
        fixed (float* img = images)
        fixed (float* col = columns)
        {
            long units = (long)s.Rows * batch;
            var work = new ForwardWork(s, img, col, units, Partitions(units, s.ColumnsLength));
            ForkJoin.Run(work, work.Parts);
        }
    }

    /// <summary>
    /// col2im: images [batch, channels, height, width] are overwritten with, for every pixel, the sum of all the
    /// column entries that read it (the adjoint of <see cref="Forward"/>).
    /// </summary>
    public static void Backward(ReadOnlySpan<float> columns, int batch, int channels, int height, int width, int kernel, int padding, int stride, Span<float> images) =>
        RunBackward(columns, batch, channels, height, width, kernel, padding, stride, images, overwriteColumns: false);

    /// <summary>
    /// The same as <see cref="Backward"/>, but it may overwrite <paramref name="columns"/> (a caller's scratch):
    /// at stride 1 with 'same' padding it then zeroes the entries that fall off the image and adds each column
    /// row to the plane as one contiguous run instead of row by row.
    /// </summary>
    internal static void BackwardOverwritingColumns(Span<float> columns, int batch, int channels, int height, int width, int kernel, int padding, int stride, Span<float> images) =>
        RunBackward(columns, batch, channels, height, width, kernel, padding, stride, images, overwriteColumns: true);

    private static unsafe void RunBackward(ReadOnlySpan<float> columns, int batch, int channels, int height, int width, int kernel, int padding, int stride, Span<float> images, bool overwriteColumns)
    {
        var s = Geometry.Create(batch, channels, height, width, kernel, padding, stride, images.Length, columns.Length);
        if (s.ColumnsLength > 0 && s.ImagesLength > 0 && images[..(int)s.ImagesLength].Overlaps(columns[..(int)s.ColumnsLength]))
            ThrowHelper.Overlap(nameof(columns), nameof(images));
        if (s.ImagesLength == 0) return;
        fixed (float* img = images)
        fixed (float* col = columns)
        {
            long units = (long)batch * channels;
            var work = new BackwardWork(s, img, col, units, Partitions(units, s.ColumnsLength + s.ImagesLength), overwriteColumns);
            ForkJoin.Run(work, work.Parts);
        }
    }

    private static int Partitions(long units, long floats) =>
        floats < ParallelThreshold ? 1 : (int)Math.Min(units, ForkJoin.Threads);

    /// <summary>Validated sizes of one call.</summary>
    private readonly struct Geometry
    {
        public readonly int Batch, Channels, Height, Width, Kernel, Padding, Stride, OutH, OutW, Rows;
        public readonly long ImagesLength, ColumnsLength;

        private Geometry(int batch, int channels, int height, int width, int kernel, int padding, int stride)
        {
            Batch = batch; Channels = channels; Height = height; Width = width;
            Kernel = kernel; Padding = padding; Stride = stride;
            OutH = OutputSize(height, kernel, padding, stride);
            OutW = OutputSize(width, kernel, padding, stride);
            Rows = (int)Math.Min(int.MaxValue, (long)channels * kernel * kernel);
            ImagesLength = (long)batch * channels * height * width;
            ColumnsLength = (long)channels * kernel * kernel * batch * OutH * OutW;
        }

        public long Plane => (long)OutH * OutW;

        /// <summary>
        /// Stride 1 and output rows as long as input rows ('same' padding): each column row is then the image
        /// plane shifted by a fixed offset, with zeros where a tap falls off the image.
        /// </summary>
        public bool KeepsRowLength => Stride == 1 && OutW == Width;

        /// <summary>Output rows oy whose tap ky lands inside the image (stride 1): [lo, hi).</summary>
        public void ValidRows(int ky, out int lo, out int hi)
        {
            lo = Math.Max(0, Padding - ky);
            hi = Math.Min(OutH, Height + Padding - ky);
            if (lo > hi) lo = hi;
        }

        public long Wide => Batch * Plane;

        public static Geometry Create(int batch, int channels, int height, int width, int kernel, int padding, int stride, int imagesLength, int columnsLength)
        {
            if (batch < 0) ThrowHelper.Negative(nameof(batch), batch);
            if (channels < 0) ThrowHelper.Negative(nameof(channels), channels);
            var g = new Geometry(batch, channels, height, width, kernel, padding, stride);
            if (g.ImagesLength > Array.MaxLength) ThrowHelper.TooLarge("The image batch", g.ImagesLength);
            if (g.ColumnsLength > Array.MaxLength) ThrowHelper.TooLarge("The column matrix", g.ColumnsLength);
            if (imagesLength < g.ImagesLength) ThrowHelper.TooShort("images", imagesLength, g.ImagesLength);
            if (columnsLength < g.ColumnsLength) ThrowHelper.TooShort("columns", columnsLength, g.ColumnsLength);
            return g;
        }

        /// <summary>Output columns ox whose tap kx lands inside the image: [lo, hi).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void ValidRange(int kx, out int lo, out int hi)
        {
            // ix = ox·stride − padding + kx must lie in [0, width).
            int first = Padding - kx;                       // smallest ox·stride allowed
            lo = first <= 0 ? 0 : (first + Stride - 1) / Stride;
            int last = Width - 1 + Padding - kx;            // largest ox·stride allowed
            hi = last < 0 ? 0 : Math.Min(OutW, last / Stride + 1);
            if (lo > hi) lo = hi;
        }
    }

    private readonly unsafe struct ForwardWork : IPartitionedWork
    {
        private readonly Geometry _s;
        private readonly float* _images, _columns;
        private readonly long _units;
        public readonly int Parts;

        public ForwardWork(in Geometry s, float* images, float* columns, long units, int parts)
        {
            _s = s; _images = images; _columns = columns; _units = units; Parts = parts;
        }

        /// <summary>Unit u = (row r, image n): the contiguous outH·outW slice of column row r for image n.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int partition)
        {
            long u0 = _units * partition / Parts, u1 = _units * (partition + 1) / Parts;
            int k = _s.Kernel, batch = _s.Batch, ow = _s.OutW, oh = _s.OutH, stride = _s.Stride, pad = _s.Padding;
            int w = _s.Width, h = _s.Height;
            long plane = _s.Plane, wide = _s.Wide, imagePlane = (long)h * w;
            for (long u = u0; u < u1; u++)
            {
                int r = (int)(u / batch), n = (int)(u % batch);
                int c = r / (k * k), ky = r / k % k, kx = r % k;
                _s.ValidRange(kx, out int lo, out int hi);
                float* src = _images + (n * (long)_s.Channels + c) * imagePlane;
                float* dst = _columns + r * wide + n * plane;
                if (_s.KeepsRowLength)
                {
                    ShiftedPlane.Copy(_s, ky, kx, lo, hi, src, dst);
                    continue;
                }
                for (int oy = 0; oy < oh; oy++, dst += ow)
                {
                    int iy = oy * stride - pad + ky;
                    if ((uint)iy >= (uint)h || lo == hi)
                    {
                        new Span<float>(dst, ow).Clear();
                        continue;
                    }
                    for (int ox = 0; ox < lo; ox++) dst[ox] = 0f;
                    float* srcRow = src + (long)iy * w - pad + kx;   // srcRow[ox·stride] is the tap for ox
                    if (stride == 1)
                        Rows.Copy(srcRow + lo, dst + lo, hi - lo);
                    else
                        for (int ox = lo; ox < hi; ox++) dst[ox] = srcRow[(long)ox * stride];
                    for (int ox = hi; ox < ow; ox++) dst[ox] = 0f;
                }
            }
        }
    }

    private readonly unsafe struct BackwardWork : IPartitionedWork
    {
        private readonly Geometry _s;
        private readonly float* _images, _columns;
        private readonly long _units;
        private readonly bool _overwriteColumns;
        public readonly int Parts;

        public BackwardWork(in Geometry s, float* images, float* columns, long units, int parts, bool overwriteColumns = false)
        {
            _s = s; _images = images; _columns = columns; _units = units; Parts = parts; _overwriteColumns = overwriteColumns;
        }

        /// <summary>Unit u = (channel c, image n): one image plane, summed over taps in (ky, kx, oy) order.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int partition)
        {
            long u0 = _units * partition / Parts, u1 = _units * (partition + 1) / Parts;
            int k = _s.Kernel, ow = _s.OutW, oh = _s.OutH, stride = _s.Stride, pad = _s.Padding;
            int w = _s.Width, h = _s.Height, channels = _s.Channels;
            long plane = _s.Plane, wide = _s.Wide, imagePlane = (long)h * w;
            for (long u = u0; u < u1; u++)
            {
                // Channel-major order: consecutive units read the same k² column rows sequentially, which the
                // hardware prefetchers follow (image-major order would hop across all channels·k² rows).
                int c = (int)(u / _s.Batch), n = (int)(u % _s.Batch);
                float* img = _images + ((long)n * channels + c) * imagePlane;
                new Span<float>(img, (int)imagePlane).Clear();
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++)
                    {
                        _s.ValidRange(kx, out int lo, out int hi);
                        if (lo == hi) continue;
                        long r = ((long)c * k + ky) * k + kx;
                        float* src = _columns + r * wide + n * plane;
                        if (_overwriteColumns && _s.KeepsRowLength)
                        {
                            ShiftedPlane.Add(_s, ky, kx, lo, hi, src, img);
                            continue;
                        }
                        for (int oy = 0; oy < oh; oy++)
                        {
                            int iy = oy * stride - pad + ky;
                            if ((uint)iy >= (uint)h) continue;
                            float* imgRow = img + (long)iy * w - pad + kx;   // imgRow[ox·stride] receives ox
                            float* srcRow = src + (long)oy * ow;
                            if (stride == 1)
                            {
                                Rows.Add(srcRow + lo, imgRow + lo, hi - lo);
                            }
                            else
                            {
                                for (int ox = lo; ox < hi; ox++) imgRow[(long)ox * stride] += srcRow[ox];
                            }
                        }
                    }
            }
        }
    }

    /// <summary>
    /// Whole-plane moves for <see cref="Geometry.KeepsRowLength"/>: column row (ky, kx) at output index
    /// i = oy·w + ox reads image index i + (ky − p)·w + (kx − p) for every valid row, so the valid rows move as one
    /// contiguous run. The run's ends would wrap into a neighbouring row (or off the plane), so they are cut by
    /// |kx − p|, and the entries that wrap inside it (taps left or right of the image) are zeroed.
    /// </summary>
    private static unsafe class ShiftedPlane
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Copy(in Geometry s, int ky, int kx, int lo, int hi, float* image, float* column)
        {
            var run = new Run(s, ky, kx);
            if (run.Empty || lo == hi)
            {
                new Span<float>(column, (int)s.Plane).Clear();
                return;
            }
            new Span<float>(column, (int)run.First).Clear();
            new Span<float>(column + run.End, (int)(s.Plane - run.End)).Clear();
            Rows.Copy(image + run.First + run.Shift, column + run.First, run.Length);
            ZeroWrapped(column, s.Width, run.RowLo, run.RowHi, lo, hi);
        }

        /// <summary>image[i + shift] += column[i] over the valid run, after zeroing the column's wrapped entries.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Add(in Geometry s, int ky, int kx, int lo, int hi, float* column, float* image)
        {
            var run = new Run(s, ky, kx);
            if (run.Empty) return;
            ZeroWrapped(column, s.Width, run.RowLo, run.RowHi, lo, hi);
            Rows.Add(column + run.First, image + run.First + run.Shift, run.Length);
        }

        /// <summary>
        /// Column row (ky, kx)'s contiguous run: column indices [First, End) of the valid rows [RowLo, RowHi), cut
        /// by |kx − p| at the ends, and image index = column index + Shift.
        /// </summary>
        private readonly struct Run
        {
            public readonly int RowLo, RowHi;
            public readonly long First, End, Shift;

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public Run(in Geometry s, int ky, int kx)
            {
                s.ValidRows(ky, out RowLo, out RowHi);
                int w = s.Width, d = kx - s.Padding;
                First = (long)RowLo * w + Math.Max(0, -d);
                End = (long)RowHi * w - Math.Max(0, d);
                Shift = (long)(ky - s.Padding) * w + d;
            }

            public bool Empty => RowLo == RowHi;

            public int Length => (int)(End - First);
        }

        /// <summary>Zeroes columns [0, lo) and [hi, w) of rows [rowLo, rowHi).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void ZeroWrapped(float* column, int w, int rowLo, int rowHi, int lo, int hi)
        {
            if (lo == 0 && hi == w) return;
            for (int oy = rowLo; oy < rowHi; oy++)
            {
                float* row = column + (long)oy * w;
                for (int ox = 0; ox < lo; ox++) row[ox] = 0f;
                for (int ox = hi; ox < w; ox++) row[ox] = 0f;
            }
        }
    }

    /// <summary>
    /// Copy and accumulate for the short rows of conv feature maps (often 14 or 28 floats), inlined: a library
    /// call per row costs more than the row itself.
    /// </summary>
    private static unsafe class Rows
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Copy(float* src, float* dst, int count)
        {
            if (count >= 16 && Vector512.IsHardwareAccelerated)
            {
                // Full vectors, the last one overlapping the previous (a copy may rewrite a value).
                int i = 0;
                for (; i + 16 <= count; i += 16) Vector512.Store(Vector512.Load(src + i), dst + i);
                if (i < count) Vector512.Store(Vector512.Load(src + count - 16), dst + count - 16);
            }
            else if (count >= 8 && Vector256.IsHardwareAccelerated)
            {
                int i = 0;
                for (; i + 8 <= count; i += 8) Vector256.Store(Vector256.Load(src + i), dst + i);
                if (i < count) Vector256.Store(Vector256.Load(src + count - 8), dst + count - 8);
            }
            else
            {
                for (int i = 0; i < count; i++) dst[i] = src[i];
            }
        }

        /// <summary>dst[i] += src[i]; each element is added exactly once, in a fixed way.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Add(float* src, float* dst, int count)
        {
            int i = 0;
            if (Vector512.IsHardwareAccelerated)
                for (; i + 16 <= count; i += 16) Vector512.Store(Vector512.Load(dst + i) + Vector512.Load(src + i), dst + i);
            if (Vector256.IsHardwareAccelerated)
                for (; i + 8 <= count; i += 8) Vector256.Store(Vector256.Load(dst + i) + Vector256.Load(src + i), dst + i);
            if (Vector128.IsHardwareAccelerated && i + 4 <= count)
            {
                Vector128.Store(Vector128.Load(dst + i) + Vector128.Load(src + i), dst + i);
                i += 4;
            }
            for (; i < count; i++) dst[i] += src[i];
        }
    }
}
