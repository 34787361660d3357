namespace Shears.Tensors;

/// <summary>Moves between [channels, batch·spatial] (what one batched conv GEMM produces) and NCHW.</summary>
public static class Layout
{
    public static void ChannelsMajorToBatchMajor(ReadOnlySpan<float> src, int channels, int batch, int spatial, Span<float> dst)
    {
        for (int c = 0; c < channels; c++)
            for (int n = 0; n < batch; n++)
                src.Slice((c * batch + n) * spatial, spatial).CopyTo(dst.Slice((n * channels + c) * spatial, spatial));
    }

    public static void BatchMajorToChannelsMajor(ReadOnlySpan<float> src, int batch, int channels, int spatial, Span<float> dst)
    {
        for (int n = 0; n < batch; n++)
            for (int c = 0; c < channels; c++)
                src.Slice((n * channels + c) * spatial, spatial).CopyTo(dst.Slice((c * batch + n) * spatial, spatial));
    }
}
