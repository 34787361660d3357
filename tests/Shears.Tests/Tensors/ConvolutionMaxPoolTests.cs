using Shears.Nn;
using Shears.Tensors;
using Shears.Tests.Nn;
using Shears.Tests.TestSupport;

namespace Shears.Tests.Tensors;

public sealed class ConvolutionMaxPoolTests
{
    private sealed record Case(int Batch, int In, int Out, int H, int W, int K, int P)
    {
        public int ConvH => H + 2 * P - K + 1;
        public int ConvW => W + 2 * P - K + 1;
        public int PooledH => ConvH / 2;
        public int PooledW => ConvW / 2;
        public int ImagesLength => Batch * In * H * W;
        public int PooledLength => Batch * Out * PooledH * PooledW;
        public int WeightLength => Out * In * K * K;
    }

    // CNN-3's first layer (28 → 14 pooled columns: one whole vector and a short one); odd sizes whose last row
    // and column the pool drops; pooled widths of 1, 8 (exactly a vector), 17 (two and a tail of 1) and 18; batches
    // with a short last group of images; several input channels; kernels of 1 to 5 with and without padding.
    public static TheoryData<int, int, int, int, int, int, int> Cases() => new()
    {
        { 19, 1, 5, 28, 28, 3, 1 },
        { 9, 3, 4, 9, 7, 3, 1 },
        { 8, 2, 3, 5, 6, 1, 0 },
        { 3, 1, 2, 4, 4, 5, 2 },
        { 11, 2, 3, 20, 37, 3, 1 },
        { 5, 1, 3, 3, 2, 2, 1 },
        { 2, 1, 2, 16, 16, 1, 0 },
        { 10, 4, 6, 12, 35, 2, 0 },
        { 1, 1, 32, 28, 28, 3, 1 },
    };

    private static (float[] X, float[] W, float[] B, float[] Dy) Inputs(Case c, int seed)
    {
        var rng = new Random(seed);
        float[] F(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var dy = F(c.PooledLength);
        for (int i = 0; i < dy.Length; i++) if (rng.Next(2) == 0) dy[i] = 0f;   // ReLU cuts about half the pooled outputs
        return (F(c.ImagesLength), F(c.WeightLength), F(c.Out), dy);
    }

    private static double[] D(float[] v) => v.Select(x => (double)x).ToArray();

    /// <summary>The full-size convolution output's gradient: each pooled gradient at its window's winner, zero elsewhere.</summary>
    private static float[] Scatter(Case c, float[] pooledGradient, int[] winners)
    {
        var full = new float[c.Batch * c.Out * c.ConvH * c.ConvW];
        for (int plane = 0; plane < c.Batch * c.Out; plane++)
            for (int py = 0; py < c.PooledH; py++)
                for (int px = 0; px < c.PooledW; px++)
                {
                    int at = (plane * c.PooledH + py) * c.PooledW + px, win = winners[at];
                    Assert.InRange(win, 0, 3);
                    full[(plane * c.ConvH + 2 * py + win / 2) * c.ConvW + 2 * px + win % 2] = pooledGradient[at];
                }
        return full;
    }

    private static (float[] Pooled, int[] Winners) Forward(Case c, float[] x, float[] w, float[] b)
    {
        var pooled = Enumerable.Repeat(float.NaN, c.PooledLength).ToArray();
        var winners = Enumerable.Repeat(-1, c.PooledLength).ToArray();
        ConvolutionMaxPool.Forward(x, w, b, pooled, winners, c.Batch, c.In, c.H, c.W, c.Out, c.K, c.P);
        return (pooled, winners);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Forward_pools_a_double_reference_convolution_and_names_a_maximum_as_winner(int batch, int inC, int outC, int h, int w, int k, int p)
    {
        var c = new Case(batch, inC, outC, h, w, k, p);
        var (x, weight, bias, _) = Inputs(c, batch * 100 + w);
        var (pooled, winners) = Forward(c, x, weight, bias);
        var conv = Conv2dTests.Reference(D(x), D(weight), D(bias), batch, inC, outC, h, w, k, p, 1);
        var expected = new double[c.PooledLength];
        for (int plane = 0; plane < batch * outC; plane++)
            for (int py = 0; py < c.PooledH; py++)
                for (int px = 0; px < c.PooledW; px++)
                {
                    int at = (plane * c.PooledH + py) * c.PooledW + px;
                    double At(int position) => conv[(plane * c.ConvH + 2 * py + position / 2) * c.ConvW + 2 * px + position % 2];
                    expected[at] = Enumerable.Range(0, 4).Max(At);
                    Assert.InRange(winners[at], 0, 3);
                    Assert.True(Math.Abs(At(winners[at]) - expected[at]) <= 1e-5 + 1e-5 * Math.Abs(expected[at]),
                        $"winner {winners[at]} of window {at} holds {At(winners[at])}, the maximum is {expected[at]}");
                }
        Tolerance.AssertClose(pooled, expected, atol: 1e-5, rtol: 1e-5);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Gradients_match_a_double_reference_routed_through_the_winners(int batch, int inC, int outC, int h, int w, int k, int p)
    {
        var c = new Case(batch, inC, outC, h, w, k, p);
        var (x, weight, bias, dy) = Inputs(c, batch * 100 + w + 1);
        var (_, winners) = Forward(c, x, weight, bias);
        var dw = Enumerable.Repeat(float.NaN, c.WeightLength).ToArray();   // overwritten, whatever they held
        var db = Enumerable.Repeat(float.NaN, outC).ToArray();
        ConvolutionMaxPool.WeightGradient(x, winners, dy, dw, db, batch, inC, h, w, outC, k, p);
        var (edw, edb, _) = Conv2dTests.ReferenceGradients(x, weight, Scatter(c, dy, winners), null, batch, inC, outC, h, w, k, p, 1);
        Tolerance.AssertClose(dw, edw, atol: 1e-4, rtol: 1e-5);
        Tolerance.AssertClose(db, edb, atol: 1e-4, rtol: 1e-5);
    }

    /// <summary>
    /// A 1×1 kernel of weight 1 and bias 0 makes the convolution the identity (1·x + 0 is exact), so the stage must
    /// be MaxPool2d itself: the same pooled bits, and each window's gradient at the same input, on values full of
    /// ties (the first maximum wins) and NaNs (the first NaN wins).
    /// </summary>
    [Fact]
    public void With_an_identity_kernel_it_pools_and_routes_gradients_as_MaxPool2d_does_through_ties_and_NaNs()
    {
        var c = new Case(9, 1, 1, 10, 21, 1, 0);
        var rng = new Random(3);
        var x = Enumerable.Range(0, c.ImagesLength).Select(_ => (float)rng.Next(-1, 2)).ToArray();
        for (int i = 0; i < 40; i++) x[rng.Next(x.Length)] = float.NaN;
        var dy = Enumerable.Range(0, c.PooledLength).Select(i => (float)(i + 1)).ToArray();
        var (pooled, winners) = Forward(c, x, [1f], [0f]);

        var pool = new MaxPool2d("pool", 2);
        var expected = pool.Forward(new Tensor((float[])x.Clone(), c.Batch, 1, c.H, c.W), training: true).ReadOnlySpan.ToArray();
        Tolerance.AssertBitwiseEqual(expected, pooled, "pooled");
        var routed = pool.Backward(new Tensor((float[])dy.Clone(), c.Batch, 1, c.PooledH, c.PooledW), needInputGradient: true)!.ReadOnlySpan.ToArray();
        var full = Scatter(c, dy, winners);
        Tolerance.AssertBitwiseEqual(routed, full, "gradient routed to the winners");   // the dropped last column gets none in either
        Assert.Contains(float.NaN, pooled);
        Assert.Contains(0, winners);
        Assert.Contains(3, winners);
    }

    /// <summary>
    /// The stage sums each convolution output as one fused chain over the taps in order and then adds the bias, as
    /// im2col + GEMM does where the taps fit one k block of a vector kernel (see SparseConvolutionTests), so its
    /// pooled values are Convolution.Forward's pooled by MaxPool2d, to the bit, and its winners are where MaxPool2d
    /// sends each window's gradient: the fused forward changes nothing a network computes.
    /// </summary>
    [Theory]
    [InlineData(19, 1, 32, 28, 28, 3, 1)]
    [InlineData(9, 3, 4, 9, 7, 3, 1)]
    [InlineData(10, 4, 6, 12, 35, 2, 0)]
    public void Forward_gives_the_bits_of_the_gemm_convolution_then_MaxPool2d(int batch, int inC, int outC, int h, int w, int k, int p)
    {
        var c = new Case(batch, inC, outC, h, w, k, p);
        var (x, weight, bias, dy) = Inputs(c, batch + outC);
        var (pooled, winners) = Forward(c, x, weight, bias);
        var conv = new float[batch * outC * c.ConvH * c.ConvW];
        Convolution.Forward(x, weight, bias, conv, batch, inC, h, w, outC, k, p, 1);
        var pool = new MaxPool2d("pool", 2);
        var expected = pool.Forward(new Tensor(conv, batch, outC, c.ConvH, c.ConvW), training: true).ReadOnlySpan.ToArray();
        if (Gemm.BestKernel == GemmKernelKind.Scalar)
        {
            // The scalar GEMM rounds each product apart (no vector hardware, or DOTNET_EnableHWIntrinsic=0).
            Tolerance.AssertClose(pooled, expected, atol: 1e-5, rtol: 1e-5);
            return;
        }
        Tolerance.AssertBitwiseEqual(expected, pooled, "pooled");
        var routed = pool.Backward(new Tensor((float[])dy.Clone(), batch, outC, c.PooledH, c.PooledW), needInputGradient: true)!.ReadOnlySpan.ToArray();
        var full = Scatter(c, dy, winners);
        for (int plane = 0; plane < batch * outC; plane++)   // the rows and columns the pool drops get no gradient in either
            for (int row = 0; row < 2 * c.PooledH; row++)
                for (int col = 0; col < 2 * c.PooledW; col++)
                {
                    int at = (plane * c.ConvH + row) * c.ConvW + col;
                    Assert.Equal(BitConverter.SingleToInt32Bits(routed[at]), BitConverter.SingleToInt32Bits(full[at]));
                }
    }

    [Fact]
    public void Results_are_bit_for_bit_the_same_on_one_thread_and_on_all()
    {
        var c = new Case(37, 2, 5, 13, 22, 3, 1);
        var (x, weight, bias, dy) = Inputs(c, 5);
        (float[] Y, int[] Win, float[] Dw, float[] Db) Run()
        {
            var (y, win) = Forward(c, x, weight, bias);
            var dw = new float[c.WeightLength];
            var db = new float[c.Out];
            ConvolutionMaxPool.WeightGradient(x, win, dy, dw, db, c.Batch, c.In, c.H, c.W, c.Out, c.K, c.P);
            return (y, win, dw, db);
        }
        var all = Run();
        var one = OneThread.Run(Run);
        Assert.Equal(all.Y, one.Y);
        Assert.Equal(all.Win, one.Win);
        Assert.Equal(all.Dw, one.Dw);
        Assert.Equal(all.Db, one.Db);
    }

    [Fact]
    public void Weight_gradients_continued_chunk_by_chunk_are_those_of_one_call()
    {
        var c = new Case(29, 1, 7, 15, 19, 3, 1);
        var (x, weight, bias, dy) = Inputs(c, 11);
        var (_, winners) = Forward(c, x, weight, bias);
        var dw = new float[c.WeightLength];
        var db = new float[c.Out];
        ConvolutionMaxPool.WeightGradient(x, winners, dy, dw, db, c.Batch, c.In, c.H, c.W, c.Out, c.K, c.P);
        int image = c.In * c.H * c.W, pooled = c.Out * c.PooledH * c.PooledW;
        foreach (int chunk in new[] { 8, 16 })
        {
            var cdw = Enumerable.Repeat(float.NaN, c.WeightLength).ToArray();   // the first chunk must overwrite
            var cdb = new float[c.Out];
            var totals = new double[c.Out];
            for (int start = 0; start < c.Batch; start += chunk)
            {
                int n = Math.Min(chunk, c.Batch - start);
                ConvolutionMaxPool.WeightGradient(x.AsSpan(start * image, n * image), winners.AsSpan(start * pooled, n * pooled), dy.AsSpan(start * pooled, n * pooled),
                    cdw, cdb, n, c.In, c.H, c.W, c.Out, c.K, c.P, totals, continuing: start > 0);
            }
            Tolerance.AssertBitwiseEqual(dw, cdw, $"weight gradient in chunks of {chunk}");
            Tolerance.AssertBitwiseEqual(db, cdb, $"bias gradient in chunks of {chunk}");
        }
    }

    [Fact]
    public void Bad_arguments_are_rejected_naming_them()
    {
        var c = new Case(3, 2, 4, 6, 6, 3, 1);
        var (x, weight, bias, dy) = Inputs(c, 7);
        var y = new float[c.PooledLength];
        var win = new int[c.PooledLength];
        Assert.Contains("images", Assert.Throws<ArgumentException>(() => ConvolutionMaxPool.Forward(x.AsSpan(1), weight, bias, y, win, 3, 2, 6, 6, 4, 3, 1)).Message);
        Assert.Contains("pooled", Assert.Throws<ArgumentException>(() => ConvolutionMaxPool.Forward(x, weight, bias, y.AsSpan(1), win, 3, 2, 6, 6, 4, 3, 1)).Message);
        Assert.Contains("winners", Assert.Throws<ArgumentException>(() => ConvolutionMaxPool.Forward(x, weight, bias, y, win.AsSpan(2), 3, 2, 6, 6, 4, 3, 1)).Message);
        Assert.Contains("weightGradient", Assert.Throws<ArgumentException>(() =>
            ConvolutionMaxPool.WeightGradient(x, win, dy, new float[c.WeightLength - 1], new float[4], 3, 2, 6, 6, 4, 3, 1)).Message);
        Assert.Contains("bias totals", Assert.Throws<ArgumentException>(() =>
            ConvolutionMaxPool.WeightGradient(x, win, dy, new float[c.WeightLength], new float[4], 3, 2, 6, 6, 4, 3, 1, continuing: true)).Message);
        // A 2×2 image under a 3×3 kernel without padding leaves no window to pool.
        Assert.Contains("no whole 2×2 window", Assert.Throws<ArgumentException>(() =>
            ConvolutionMaxPool.Forward(new float[4], new float[9], [0f], new float[1], new int[1], 1, 1, 2, 2, 1, 3, 0)).Message);
        Assert.False(ConvolutionMaxPool.Supports(28, 28, 3, 1, stride: 2));
    }
}
