using Shears.Tensors;
using Shears.Tests.Nn;
using Shears.Tests.TestSupport;

namespace Shears.Tests.Tensors;

public sealed class ConvolutionTests
{
    private sealed record Case(int Batch, int In, int Out, int H, int W, int K, int P, int S)
    {
        public int OutH => (H + 2 * P - K) / S + 1;
        public int OutW => (W + 2 * P - K) / S + 1;
        public int ImagesLength => Batch * In * H * W;
        public int OutputLength => Batch * Out * OutH * OutW;
        public int WeightLength => Out * In * K * K;
    }

    // Batches of 19 and 9 cut into groups of 8 with a short last group; odd channel counts and widths hit GEMM
    // tails; the 1×1 case reads images as their own column matrices.
    public static TheoryData<int, int, int, int, int, int, int, int> Cases() => new()
    {
        { 19, 3, 5, 9, 7, 3, 1, 1 },
        { 19, 1, 17, 11, 13, 3, 1, 1 },
        { 9, 3, 5, 9, 7, 3, 0, 2 },
        { 9, 2, 33, 6, 5, 5, 2, 1 },
        { 19, 4, 7, 5, 6, 1, 0, 1 },
        { 8, 3, 6, 8, 8, 2, 0, 2 },
        { 1, 32, 64, 14, 14, 3, 1, 1 },
    };

    private static (float[] X, float[] W, float[] B, float[] Dy) Inputs(Case c, int seed)
    {
        var rng = new Random(seed);
        float[] F(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        return (F(c.ImagesLength), F(c.WeightLength), F(c.Out), F(c.OutputLength));
    }

    private static double[] D(float[] v) => v.Select(x => (double)x).ToArray();

    [Theory]
    [MemberData(nameof(Cases))]
    public void Forward_matches_a_double_reference(int batch, int inC, int outC, int h, int w, int k, int p, int s)
    {
        var c = new Case(batch, inC, outC, h, w, k, p, s);
        var (x, weight, bias, _) = Inputs(c, batch * 1000 + outC);
        var y = new float[c.OutputLength];
        Convolution.Forward(x, weight, bias, y, batch, inC, h, w, outC, k, p, s);
        var expected = Conv2dTests.Reference(D(x), D(weight), D(bias), batch, inC, outC, h, w, k, p, s);
        Tolerance.AssertClose(y, expected, atol: 1e-5, rtol: 1e-5);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Gradients_match_a_double_reference(int batch, int inC, int outC, int h, int w, int k, int p, int s)
    {
        var c = new Case(batch, inC, outC, h, w, k, p, s);
        var (x, weight, _, dy) = Inputs(c, batch * 1000 + outC + 1);
        var dw = new float[c.WeightLength];
        var db = new float[outC];
        var dx = new float[c.ImagesLength];
        dw.AsSpan().Fill(float.NaN);   // outputs are overwritten, whatever they held
        dx.AsSpan().Fill(float.NaN);
        Convolution.WeightGradient(x, dy, dw, db, batch, inC, h, w, outC, k, p, s);
        Convolution.InputGradient(dy, weight, dx, batch, inC, h, w, outC, k, p, s);

        var (edw, edb, edx) = Conv2dTests.ReferenceGradients(x, weight, dy, null, batch, inC, outC, h, w, k, p, s);
        Tolerance.AssertClose(dw, edw, atol: 1e-4, rtol: 1e-5);
        Tolerance.AssertClose(db, edb, atol: 1e-4, rtol: 1e-5);
        Tolerance.AssertClose(dx, edx, atol: 1e-5, rtol: 1e-5);
    }

    [Fact]
    public void Results_are_bit_for_bit_the_same_on_one_thread_and_on_all()
    {
        var c = new Case(37, 3, 9, 12, 10, 3, 1, 1);
        var (x, weight, bias, dy) = Inputs(c, 5);
        (float[] Y, float[] Dw, float[] Db, float[] Dx) Run()
        {
            var y = new float[c.OutputLength];
            var dw = new float[c.WeightLength];
            var db = new float[c.Out];
            var dx = new float[c.ImagesLength];
            Convolution.Forward(x, weight, bias, y, c.Batch, c.In, c.H, c.W, c.Out, c.K, c.P, c.S);
            Convolution.WeightGradient(x, dy, dw, db, c.Batch, c.In, c.H, c.W, c.Out, c.K, c.P, c.S);
            Convolution.InputGradient(dy, weight, dx, c.Batch, c.In, c.H, c.W, c.Out, c.K, c.P, c.S);
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
    public void Short_buffers_are_rejected_naming_the_argument()
    {
        var c = new Case(3, 2, 4, 5, 5, 3, 1, 1);
        var (x, weight, bias, dy) = Inputs(c, 7);
        var y = new float[c.OutputLength];
        var e = Assert.Throws<ArgumentException>(() => Convolution.Forward(x.AsSpan(1), weight, bias, y, 3, 2, 5, 5, 4, 3, 1, 1));
        Assert.Contains("images", e.Message);
        e = Assert.Throws<ArgumentException>(() => Convolution.Forward(x, weight, bias, y.AsSpan(1), 3, 2, 5, 5, 4, 3, 1, 1));
        Assert.Contains("output", e.Message);
        e = Assert.Throws<ArgumentException>(() => Convolution.WeightGradient(x, dy, new float[c.WeightLength - 1], new float[4], 3, 2, 5, 5, 4, 3, 1, 1));
        Assert.Contains("weightGradient", e.Message);
        e = Assert.Throws<ArgumentException>(() => Convolution.InputGradient(dy, weight.AsSpan(2), new float[c.ImagesLength], 3, 2, 5, 5, 4, 3, 1, 1));
        Assert.Contains("weight", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Convolution.Forward(x, weight, bias, y, 3, 0, 5, 5, 4, 3, 1, 1));
    }

    private static int[] ConvBits(ReadOnlySpan<float> values) => values.ToArray().Select(BitConverter.SingleToInt32Bits).ToArray();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Convolution_weight_gradients_continued_chunk_by_chunk_are_those_of_one_call(bool sparse)
    {
        // An odd geometry whose rows end in vector tails, 29 images (a short last group), chunks of 8 and 16.
        const int batch = 29, inC = 3, h = 9, w = 7, outC = 5, k = 3, p = 1;
        var rng = new Random(sparse ? 3 : 4);
        var x = NnTestSupport.RandomFloats(rng, batch * inC * h * w);
        var dy = NnTestSupport.RandomFloats(rng, batch * outC * h * w);
        var keep = Enumerable.Range(0, outC * inC * k * k).Select(_ => sparse ? (rng.NextDouble() < 0.1 ? 1f : 0f) : 1f).ToArray();
        var dw = new float[keep.Length];
        var db = new float[outC];
        Convolution.WeightGradient(x, dy, dw, db, batch, inC, h, w, outC, k, p, 1, keep);

        foreach (int chunk in new[] { 8, 16 })
        {
            var cdw = Enumerable.Repeat(float.NaN, keep.Length).ToArray();   // the first chunk must overwrite
            var cdb = new float[outC];
            var totals = new double[outC];
            for (int start = 0; start < batch; start += chunk)
            {
                int n = Math.Min(chunk, batch - start);
                Convolution.WeightGradient(x.AsSpan(start * inC * h * w, n * inC * h * w), dy.AsSpan(start * outC * h * w, n * outC * h * w),
                    cdw, cdb, n, inC, h, w, outC, k, p, 1, keep, totals, continuing: start > 0);
            }
            Assert.Equal(ConvBits(dw), ConvBits(cdw));
            Assert.Equal(ConvBits(db), ConvBits(cdb));
        }
        Assert.Contains(dw, v => v != 0);

        var e = Assert.Throws<ArgumentException>(() => Convolution.WeightGradient(x, dy, dw, db, batch, inC, h, w, outC, k, p, 1, keep, continuing: true));
        Assert.Contains("bias totals", e.Message);
    }
}
