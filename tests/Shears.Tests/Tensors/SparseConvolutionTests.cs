using Shears.Tensors;
using Shears.Tests.Nn;
using Shears.Tests.TestSupport;

namespace Shears.Tests.Tensors;

public sealed class SparseConvolutionTests
{
    private sealed record Case(int Batch, int In, int Out, int H, int W, int K, int P)
    {
        public int OutH => H + 2 * P - K + 1;
        public int OutW => W + 2 * P - K + 1;
        public int ImagesLength => Batch * In * H * W;
        public int OutputLength => Batch * Out * OutH * OutW;
        public int WeightLength => Out * In * K * K;
    }

    // CNN-3's conv2 (runs of 224 floats: 3 chunks of 64 and one of 32) and conv1 (one channel, 28 wide);
    // odd sizes whose runs end in vector tails; 'valid' (p = 0), 2×2 with p = 1 and 5×5 with p = 2 kernels;
    // batches of 19 and 9 with a short last group. Densities from empty to full.
    public static TheoryData<int, int, int, int, int, int, int, double> Cases() => new()
    {
        { 3, 32, 64, 14, 14, 3, 1, 0.05 },
        { 2, 1, 32, 28, 28, 3, 1, 0.3 },
        { 19, 3, 5, 9, 7, 3, 1, 0.5 },
        { 9, 2, 7, 6, 5, 5, 2, 0.2 },
        { 9, 3, 4, 7, 9, 3, 0, 1.0 },
        { 5, 4, 3, 5, 6, 2, 1, 0.4 },
        { 9, 2, 5, 3, 4, 1, 0, 0.6 },
        { 4, 3, 6, 8, 8, 3, 1, 0.0 },
    };

    private static float[] Values(Random rng, int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();

    /// <summary>Weights with about <paramref name="density"/> of them nonzero, and a keep mask that differs from them in places.</summary>
    private static (float[] Weight, float[] Keep) SparseFilter(Random rng, int n, double density)
    {
        var weight = Values(rng, n);
        var keep = new float[n];
        for (int i = 0; i < n; i++)
        {
            bool kept = rng.NextDouble() < density;
            keep[i] = kept ? 1f : 0f;
            if (!kept) weight[i] = 0f;
        }
        // A kept connection whose value happens to be zero still gets its gradient.
        int firstKept = Array.IndexOf(keep, 1f);
        if (firstKept >= 0) weight[firstKept] = 0f;
        return (weight, keep);
    }

    private static double[] D(float[] v) => v.Select(x => (double)x).ToArray();

    [Theory]
    [MemberData(nameof(Cases))]
    public void Forward_matches_a_double_reference(int batch, int inC, int outC, int h, int w, int k, int p, double density)
    {
        var c = new Case(batch, inC, outC, h, w, k, p);
        var rng = new Random(batch * 100 + outC);
        var x = Values(rng, c.ImagesLength);
        var (weight, _) = SparseFilter(rng, c.WeightLength, density);
        var bias = Values(rng, outC);
        var y = new float[c.OutputLength];
        y.AsSpan().Fill(float.NaN);
        SparseConvolution.Forward(x, weight, bias, y, batch, inC, h, w, outC, k, p);
        var expected = Conv2dTests.Reference(D(x), D(weight), D(bias), batch, inC, outC, h, w, k, p, 1);
        Tolerance.AssertClose(y, expected, atol: 1e-5, rtol: 1e-5);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Gradients_match_a_double_reference(int batch, int inC, int outC, int h, int w, int k, int p, double density)
    {
        var c = new Case(batch, inC, outC, h, w, k, p);
        var rng = new Random(batch * 100 + outC + 1);
        var x = Values(rng, c.ImagesLength);
        var dy = Values(rng, c.OutputLength);
        var (weight, keep) = SparseFilter(rng, c.WeightLength, density);
        var dw = new float[c.WeightLength];
        var db = new float[outC];
        var dx = new float[c.ImagesLength];
        dw.AsSpan().Fill(float.NaN);   // outputs are overwritten, whatever they held
        db.AsSpan().Fill(float.NaN);
        dx.AsSpan().Fill(float.NaN);
        SparseConvolution.WeightGradient(x, dy, keep, dw, db, batch, inC, h, w, outC, k, p);
        SparseConvolution.InputGradient(dy, weight, dx, batch, inC, h, w, outC, k, p);

        var (edw, edb, edx) = Conv2dTests.ReferenceGradients(x, weight, dy, keep, batch, inC, outC, h, w, k, p, 1);
        Tolerance.AssertClose(dw, edw, atol: 1e-4, rtol: 1e-5);
        Tolerance.AssertClose(db, edb, atol: 1e-4, rtol: 1e-5);
        Tolerance.AssertClose(dx, edx, atol: 1e-5, rtol: 1e-5);
        for (int i = 0; i < dw.Length; i++)
            if (keep[i] == 0) Assert.Equal(0f, dw[i]);   // exactly: pruned connections get no gradient
    }

    [Fact]
    public void Convolution_takes_the_sparse_path_for_a_pruned_filter_and_agrees_with_it()
    {
        var c = new Case(11, 6, 10, 10, 9, 3, 1);
        var rng = new Random(3);
        var x = Values(rng, c.ImagesLength);
        var dy = Values(rng, c.OutputLength);
        var (weight, keep) = SparseFilter(rng, c.WeightLength, 0.04);
        var bias = Values(rng, c.Out);
        Assert.True(Density.Of(weight) <= SparseConvolution.ForwardDensity);
        Assert.True(Density.Of(keep) <= SparseConvolution.WeightGradientDensity);

        float[] y = new float[c.OutputLength], dx = new float[c.ImagesLength], dw = new float[c.WeightLength], db = new float[c.Out];
        Convolution.Forward(x, weight, bias, y, c.Batch, c.In, c.H, c.W, c.Out, c.K, c.P, 1);
        Convolution.InputGradient(dy, weight, dx, c.Batch, c.In, c.H, c.W, c.Out, c.K, c.P, 1);
        Convolution.WeightGradient(x, dy, dw, db, c.Batch, c.In, c.H, c.W, c.Out, c.K, c.P, 1, keep);

        float[] sy = new float[c.OutputLength], sdx = new float[c.ImagesLength], sdw = new float[c.WeightLength], sdb = new float[c.Out];
        SparseConvolution.Forward(x, weight, bias, sy, c.Batch, c.In, c.H, c.W, c.Out, c.K, c.P);
        SparseConvolution.InputGradient(dy, weight, sdx, c.Batch, c.In, c.H, c.W, c.Out, c.K, c.P);
        SparseConvolution.WeightGradient(x, dy, keep, sdw, sdb, c.Batch, c.In, c.H, c.W, c.Out, c.K, c.P);
        Assert.Equal(sy, y);
        Assert.Equal(sdx, dx);
        Assert.Equal(sdw, dw);
        Assert.Equal(sdb, db);
    }

    /// <summary>
    /// Where a filter's taps fit one k block of the GEMM kernels (Cin·k² ≤ 256), the sparse forward and im2col + GEMM
    /// both sum each output as one fused chain over the taps in order, so they agree to the bit and the forward's
    /// density threshold is a speed choice only. CNN-3's conv1 (9 taps), 16 channels of 3×3 (144), 8 of 5×5 (200),
    /// a 'valid' filter; filters dense enough for <see cref="Convolution.Forward"/> to take the GEMM.
    /// </summary>
    [Theory]
    [InlineData(3, 1, 32, 28, 28, 3, 1, 1.0)]
    [InlineData(9, 1, 32, 28, 28, 3, 1, 0.6)]
    [InlineData(5, 16, 12, 9, 11, 3, 1, 0.8)]
    [InlineData(4, 8, 5, 10, 7, 5, 2, 0.7)]
    [InlineData(2, 16, 9, 6, 6, 3, 0, 1.0)]
    public void The_sparse_forward_gives_the_gemms_bits(int batch, int inC, int outC, int h, int w, int k, int p, double density)
    {
        var c = new Case(batch, inC, outC, h, w, k, p);
        var rng = new Random(batch + 7 * outC);
        var x = Values(rng, c.ImagesLength);
        for (int i = 0; i < x.Length; i += 3) x[i] = 0f;   // MNIST-like zeros, also under negative weights
        var (weight, _) = SparseFilter(rng, c.WeightLength, density);
        var bias = Values(rng, outC);
        Assert.True(Density.Of(weight) > SparseConvolution.ForwardDensity, "the dense call must take the GEMM");
        float[] gemm = new float[c.OutputLength], sparse = new float[c.OutputLength];
        Convolution.Forward(x, weight, bias, gemm, batch, inC, h, w, outC, k, p, 1);
        SparseConvolution.Forward(x, weight, bias, sparse, batch, inC, h, w, outC, k, p);
        // The vector GEMM kernels fuse each multiply-add as the sparse kernel does; the scalar one (a machine, or
        // DOTNET_EnableHWIntrinsic=0, without vectors) rounds products apart, so there only the values agree.
        if (Gemm.BestKernel == GemmKernelKind.Scalar)
            Tolerance.AssertClose(sparse, gemm, atol: 1e-5, rtol: 1e-5);
        else
            Tolerance.AssertBitwiseEqual(gemm, sparse, "sparse forward against the GEMM");
    }

    [Fact]
    public void Results_are_bit_for_bit_the_same_on_one_thread_and_on_all()
    {
        var c = new Case(37, 5, 9, 12, 10, 3, 1);
        var rng = new Random(5);
        var x = Values(rng, c.ImagesLength);
        var dy = Values(rng, c.OutputLength);
        var (weight, keep) = SparseFilter(rng, c.WeightLength, 0.2);
        var bias = Values(rng, c.Out);
        (float[] Y, float[] Dw, float[] Db, float[] Dx) Run()
        {
            float[] y = new float[c.OutputLength], dw = new float[c.WeightLength], db = new float[c.Out], dx = new float[c.ImagesLength];
            SparseConvolution.Forward(x, weight, bias, y, c.Batch, c.In, c.H, c.W, c.Out, c.K, c.P);
            SparseConvolution.WeightGradient(x, dy, keep, dw, db, c.Batch, c.In, c.H, c.W, c.Out, c.K, c.P);
            SparseConvolution.InputGradient(dy, weight, dx, c.Batch, c.In, c.H, c.W, c.Out, c.K, c.P);
            return (y, dw, db, dx);
        }
        var all = Run();
        var one = OneThread.Run(Run);
        Assert.Equal(all.Y, one.Y);
        Assert.Equal(all.Dw, one.Dw);
        Assert.Equal(all.Db, one.Db);
        Assert.Equal(all.Dx, one.Dx);
    }

    [Fact]
    public void Bad_arguments_are_rejected_naming_them()
    {
        var c = new Case(3, 2, 4, 5, 5, 3, 1);
        var rng = new Random(7);
        var x = Values(rng, c.ImagesLength);
        var weight = Values(rng, c.WeightLength);
        var y = new float[c.OutputLength];
        var e = Assert.Throws<ArgumentException>(() => SparseConvolution.Forward(x.AsSpan(1), weight, new float[4], y, 3, 2, 5, 5, 4, 3, 1));
        Assert.Contains("images", e.Message);
        e = Assert.Throws<ArgumentException>(() => SparseConvolution.WeightGradient(x, new float[c.OutputLength], weight.AsSpan(1), new float[c.WeightLength], new float[4], 3, 2, 5, 5, 4, 3, 1));
        Assert.Contains("keep", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => SparseConvolution.Forward(x, weight, new float[4], y, 3, 2, 5, 5, 4, 3, 3));
        Assert.False(SparseConvolution.Supports(3, 1, 2));
        Assert.False(SparseConvolution.Supports(3, 3, 1));
        Assert.True(SparseConvolution.Supports(3, 1, 1));
    }
}
