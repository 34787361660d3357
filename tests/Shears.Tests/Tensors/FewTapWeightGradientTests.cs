using Shears.Tensors;
using Shears.Tests.TestSupport;

namespace Shears.Tests.Tensors;

public sealed class FewTapWeightGradientTests
{
    private static float[] Values(Random rng, int n, double low = -1) => Enumerable.Range(0, n).Select(_ => (float)(low + rng.NextDouble() * (1 - low))).ToArray();

    /// <summary>
    /// Shapes that cover both of the GEMM's sum orders on this machine's kernel (a C wide enough for its tiles, and one
    /// it computes transposed), channel counts off the 8-lane vectors and past one 32-channel tile, tap counts off the
    /// 3-tap tiles up to the largest this path takes, and positions from one to several k blocks with a short last
    /// one; each from zero and added to what dW holds. Same bits as the GEMM, and a double reference to rounding.
    /// </summary>
    [Theory]
    [InlineData(32, 9, 784)]    // CNN-3's conv1
    [InlineData(32, 4, 784)]    // computed transposed by the AVX2 GEMM (2·4 < 16)
    [InlineData(64, 7, 50)]
    [InlineData(3, 1, 13)]
    [InlineData(5, 9, 100)]
    [InlineData(17, 27, 196)]
    [InlineData(40, 32, 1000)]
    [InlineData(8, 12, 257)]
    [InlineData(9, 3, 600)]
    [InlineData(33, 5, 1)]
    [InlineData(70, 72, 333)]
    public unsafe void Gives_the_gemms_bits(int outChannels, int taps, int spatial)
    {
        if (!FewTapWeightGradient.Supported)
        {
            // Without fused multiply-adds the GEMM's scalar kernel rounds every product: this path must not be taken.
            Assert.False(FewTapWeightGradient.Takes(taps, spatial));
            return;
        }
        Assert.True(FewTapWeightGradient.Takes(taps, spatial));
        var rng = new Random(outChannels * 1000 + taps);
        var dy = Values(rng, outChannels * spatial);
        var columns = Values(rng, taps * spatial, low: 0);
        foreach (bool accumulate in new[] { false, true })
        {
            var start = Values(rng, outChannels * taps);
            var expected = (float[])start.Clone();
            var actual = (float[])start.Clone();
            actual[0] = accumulate ? actual[0] : float.NaN;   // written, never read, when not accumulating
            Gemm.Multiply(Transpose.No, Transpose.Yes, outChannels, taps, spatial, dy, spatial, columns, spatial, expected, taps, beta: accumulate ? 1f : 0f);
            fixed (float* g = dy, c = columns, w = actual)
                FewTapWeightGradient.Multiply(g, c, w, outChannels, taps, spatial, accumulate);
            Tolerance.AssertBitwiseEqual(expected, actual, $"{outChannels}×{taps}×{spatial}, accumulate {accumulate}");

            var reference = new double[outChannels * taps];
            for (int o = 0; o < outChannels; o++)
                for (int t = 0; t < taps; t++)
                {
                    double sum = accumulate ? start[o * taps + t] : 0;
                    for (int p = 0; p < spatial; p++) sum += (double)dy[o * spatial + p] * columns[t * spatial + p];
                    reference[o * taps + t] = sum;
                }
            Tolerance.AssertClose(actual, reference, atol: 1e-4, rtol: 1e-4);
        }
    }

    [Fact]
    public void Filters_with_many_taps_stay_on_the_gemm()
    {
        Assert.False(FewTapWeightGradient.Takes(FewTapWeightGradient.MaxTaps + 1, 196));
        Assert.False(FewTapWeightGradient.Takes(288, 196));   // CNN-3's conv2
        Assert.False(FewTapWeightGradient.Takes(9, 0));
    }

    /// <summary>
    /// A whole conv1-shaped weight gradient, batch 20 (two full groups and a short one), run whole and in chunks:
    /// the same bits as each image's GEMM summed into its group's partial and the partials added in group order.
    /// </summary>
    [Fact]
    public void Convolution_weight_gradient_of_a_few_tap_filter_keeps_the_gemm_paths_bits()
    {
        const int batch = 20, inChannels = 1, size = 28, outChannels = 32, kernel = 3, padding = 1;
        int taps = inChannels * kernel * kernel, spatial = size * size, image = inChannels * size * size;
        var rng = new Random(11);
        var images = Values(rng, batch * image, low: 0);
        var dy = Values(rng, batch * outChannels * spatial);

        var expected = new float[outChannels * taps];
        var partial = new float[outChannels * taps];
        var columns = new float[taps * spatial];
        for (int first = 0; first < batch; first += Convolution.GroupSize)
        {
            for (int n = first; n < Math.Min(batch, first + Convolution.GroupSize); n++)
            {
                Im2Col.Forward(images.AsSpan(n * image, image), 1, inChannels, size, size, kernel, padding, 1, columns);
                Gemm.Multiply(Transpose.No, Transpose.Yes, outChannels, taps, spatial, dy.AsSpan(n * outChannels * spatial, outChannels * spatial), spatial,
                    columns, spatial, partial, taps, beta: n == first ? 0f : 1f);
            }
            if (first == 0) partial.CopyTo(expected, 0);
            else for (int i = 0; i < expected.Length; i++) expected[i] += partial[i];
        }

        var whole = new float[outChannels * taps];
        var bias = new float[outChannels];
        Convolution.WeightGradient(images, dy, whole, bias, batch, inChannels, size, size, outChannels, kernel, padding, 1);
        Tolerance.AssertBitwiseEqual(expected, whole, "whole batch");

        // Chunks of whole groups (8 + 12) continue the same sums.
        var chunked = new float[outChannels * taps];
        var totals = new double[outChannels];
        Convolution.WeightGradient(images.AsSpan(0, 8 * image), dy.AsSpan(0, 8 * outChannels * spatial), chunked, bias, 8, inChannels, size, size, outChannels, kernel, padding, 1,
            biasTotals: totals);
        Convolution.WeightGradient(images.AsSpan(8 * image), dy.AsSpan(8 * outChannels * spatial), chunked, bias, 12, inChannels, size, size, outChannels, kernel, padding, 1,
            biasTotals: totals, continuing: true);
        Tolerance.AssertBitwiseEqual(expected, chunked, "in chunks");
    }
}
