using System.Runtime.CompilerServices;

namespace Shears.Tensors;

/// <summary>
/// Moves between [channels, batch·spatial] (what one batched conv GEMM produces and consumes) and NCHW
/// [batch, channels, spatial]. Each is a set of contiguous spatial-length copies, split across cores.
/// </summary>
public static class Layout
{
    private const long ParallelThreshold = 1 << 16;

    /// <summary>src [channels, batch·spatial] → dst [batch, channels, spatial].</summary>
    public static unsafe void ChannelsMajorToBatchMajor(ReadOnlySpan<float> src, int channels, int batch, int spatial, Span<float> dst)
    {
        long length = Validate(src, channels, batch, spatial, dst);
        if (length == 0) return;
        fixed (float* s = src)
        fixed (float* d = dst)
        {
            var work = new Copy(s, d, channels, batch, spatial, toBatchMajor: true, Partitions(channels, batch, length));
            ForkJoin.Run(work, work.Parts);
        }
    }

    /// <summary>src [batch, channels, spatial] → dst [channels, batch·spatial].</summary>
    public static unsafe void BatchMajorToChannelsMajor(ReadOnlySpan<float> src, int batch, int channels, int spatial, Span<float> dst)
    {
        long length = Validate(src, channels, batch, spatial, dst);
        if (length == 0) return;
        fixed (float* s = src)
        fixed (float* d = dst)
        {
            var work = new Copy(s, d, channels, batch, spatial, toBatchMajor: false, Partitions(channels, batch, length));
            ForkJoin.Run(work, work.Parts);
        }
    }

    private static long Validate(ReadOnlySpan<float> src, int channels, int batch, int spatial, Span<float> dst)
    {
        if (channels < 0) ThrowHelper.Negative(nameof(channels), channels);
        if (batch < 0) ThrowHelper.Negative(nameof(batch), batch);
        if (spatial < 0) ThrowHelper.Negative(nameof(spatial), spatial);
        long length = (long)channels * batch * spatial;
        if (length > Array.MaxLength) ThrowHelper.TooLarge("channels·batch·spatial", length);
        if (src.Length < length) ThrowHelper.TooShort(nameof(src), src.Length, length);
        if (dst.Length < length) ThrowHelper.TooShort(nameof(dst), dst.Length, length);
        if (length > 0 && dst[..(int)length].Overlaps(src[..(int)length])) ThrowHelper.Overlap(nameof(src), nameof(dst));
        return length;
    }

    private static int Partitions(int channels, int batch, long length) =>
        length < ParallelThreshold ? 1 : (int)Math.Min((long)channels * batch, ForkJoin.Threads);

    private readonly unsafe struct Copy : IPartitionedWork
    {
        private readonly float* _src, _dst;
        private readonly int _channels, _batch, _spatial;
        private readonly bool _toBatchMajor;
        public readonly int Parts;

        public Copy(float* src, float* dst, int channels, int batch, int spatial, bool toBatchMajor, int parts)
        {
            _src = src; _dst = dst; _channels = channels; _batch = batch; _spatial = spatial;
            _toBatchMajor = toBatchMajor; Parts = parts;
        }

        /// <summary>Unit u = (n, c) in destination order, so each thread writes one contiguous range.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int partition)
        {
            long units = (long)_channels * _batch;
            long u0 = units * partition / Parts, u1 = units * (partition + 1) / Parts;
            for (long u = u0; u < u1; u++)
            {
                long channelsMajor, batchMajor;
                if (_toBatchMajor)
                {
                    long n = u / _channels, c = u % _channels;   // destination [n, c]
                    batchMajor = u;
                    channelsMajor = c * _batch + n;
                }
                else
                {
                    long c = u / _batch, n = u % _batch;         // destination [c, n]
                    channelsMajor = u;
                    batchMajor = n * _channels + c;
                }
                long from = (_toBatchMajor ? channelsMajor : batchMajor) * _spatial;
                long to = (_toBatchMajor ? batchMajor : channelsMajor) * _spatial;
                new ReadOnlySpan<float>(_src + from, _spatial).CopyTo(new Span<float>(_dst + to, _spatial));
            }
        }
    }
}
