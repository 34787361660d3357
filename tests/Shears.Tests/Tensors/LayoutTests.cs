using Shears.Tensors;

namespace Shears.Tests.Tensors;

public sealed class LayoutTests
{
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 5, 7)]
    [InlineData(64, 128, 196)]
    [InlineData(32, 17, 784)]
    [InlineData(0, 4, 4)]
    public void Channels_major_to_batch_major_moves_every_spatial_block(int channels, int batch, int spatial)
    {
        var src = new float[channels * batch * spatial];
        for (int i = 0; i < src.Length; i++) src[i] = i;
        var dst = new float[src.Length + 2];
        dst.AsSpan().Fill(-1f);

        Layout.ChannelsMajorToBatchMajor(src, channels, batch, spatial, dst);

        for (int n = 0; n < batch; n++)
            for (int c = 0; c < channels; c++)
                for (int s = 0; s < spatial; s++)
                    Assert.Equal(src[(c * batch + n) * spatial + s], dst[(n * channels + c) * spatial + s]);
        Assert.Equal(-1f, dst[^1]);
        Assert.Equal(-1f, dst[^2]);
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(5, 3, 7)]
    [InlineData(128, 64, 196)]
    [InlineData(17, 32, 784)]
    public void Batch_major_to_channels_major_round_trips(int batch, int channels, int spatial)
    {
        var rng = new Random(batch + channels + spatial);
        var x = new float[batch * channels * spatial];
        for (int i = 0; i < x.Length; i++) x[i] = (float)rng.NextDouble();
        var cm = new float[x.Length];
        var back = new float[x.Length];

        Layout.BatchMajorToChannelsMajor(x, batch, channels, spatial, cm);
        for (int c = 0; c < channels; c++)
            for (int n = 0; n < batch; n++)
                Assert.Equal(x[(n * channels + c) * spatial + spatial - 1], cm[(c * batch + n) * spatial + spatial - 1]);
        Layout.ChannelsMajorToBatchMajor(cm, channels, batch, spatial, back);

        Assert.True(x.AsSpan().SequenceEqual(back));
    }

    [Fact]
    public void Layout_rejects_short_or_overlapping_spans()
    {
        var a = new float[2 * 3 * 4];
        Assert.Throws<ArgumentException>(() => Layout.ChannelsMajorToBatchMajor(a.AsSpan(1), 2, 3, 4, new float[24]));
        Assert.Throws<ArgumentException>(() => Layout.BatchMajorToChannelsMajor(a, 2, 3, 4, new float[23]));
        Assert.Throws<ArgumentException>(() => Layout.BatchMajorToChannelsMajor(a, 2, 3, 4, a));
        Assert.Throws<ArgumentOutOfRangeException>(() => Layout.BatchMajorToChannelsMajor(a, -2, 3, 4, new float[24]));
    }
}
