using Shears.Tensors;
using Shears.Nn;
using static Shears.Tests.Nn.NnTestSupport;

namespace Shears.Tests.Nn;

public class Conv2dTests
{
    /// <summary>
    /// The gradients of the convolution in double: dW (only where <paramref name="keep"/> is nonzero, when given), db
    /// and dX, from the output gradient dy.
    /// </summary>
    internal static (double[] Dw, double[] Db, double[] Dx) ReferenceGradients(float[] x, float[] weight, float[] dy, float[]? keep,
        int batch, int inChannels, int outChannels, int h, int w, int k, int padding, int stride)
    {
        int oh = (h + 2 * padding - k) / stride + 1, ow = (w + 2 * padding - k) / stride + 1;
        var dw = new double[weight.Length];
        var db = new double[outChannels];
        var dx = new double[x.Length];
        for (int n = 0; n < batch; n++)
            for (int o = 0; o < outChannels; o++)
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++)
                    {
                        double g = dy[((n * outChannels + o) * oh + i) * ow + j];
                        db[o] += g;
                        for (int c = 0; c < inChannels; c++)
                            for (int ky = 0; ky < k; ky++)
                                for (int kx = 0; kx < k; kx++)
                                {
                                    int yy = i * stride + ky - padding, xx = j * stride + kx - padding;
                                    if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
                                    int wi = ((o * inChannels + c) * k + ky) * k + kx, xi = ((n * inChannels + c) * h + yy) * w + xx;
                                    if (keep is null || keep[wi] != 0) dw[wi] += g * x[xi];
                                    dx[xi] += g * weight[wi];
                                }
                    }
        return (dw, db, dx);
    }

    /// <summary>y[n, o, i, j] = b[o] + Σ W[o, c, ky, kx]·x[n, c, i·s + ky − p, j·s + kx − p], zero outside the image.</summary>
    internal static double[] Reference(double[] x, double[] weight, double[] bias, int batch, int inChannels, int outChannels,
        int h, int w, int k, int padding, int stride)
    {
        int oh = (h + 2 * padding - k) / stride + 1, ow = (w + 2 * padding - k) / stride + 1;
        var y = new double[batch * outChannels * oh * ow];
        for (int n = 0; n < batch; n++)
            for (int o = 0; o < outChannels; o++)
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++)
                    {
                        double s = bias[o];
                        for (int c = 0; c < inChannels; c++)
                            for (int ky = 0; ky < k; ky++)
                                for (int kx = 0; kx < k; kx++)
                                {
                                    int yy = i * stride + ky - padding, xx = j * stride + kx - padding;
                                    if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
                                    s += weight[((o * inChannels + c) * k + ky) * k + kx] * x[((n * inChannels + c) * h + yy) * w + xx];
                                }
                        y[((n * outChannels + o) * oh + i) * ow + j] = s;
                    }
        return y;
    }

    private static Conv2d Random(int inChannels, int outChannels, int kernel, int padding, int stride, Random rng)
    {
        var layer = new Conv2d("conv", inChannels, outChannels, kernel, padding, stride);
        Fill(layer.Weight, rng);
        Fill(layer.Bias, rng);
        return layer;
    }

    [Theory]
    [InlineData(1, 0, 1)]
    [InlineData(1, 0, 2)]
    [InlineData(1, 1, 1)]
    [InlineData(1, 1, 2)]
    [InlineData(3, 0, 1)]
    [InlineData(3, 0, 2)]
    [InlineData(3, 1, 1)]
    [InlineData(3, 1, 2)]
    public void Conv2d_forward_matches_reference_and_backward_matches_finite_differences(int kernel, int padding, int stride)
    {
        const int batch = 2, inChannels = 3, outChannels = 5, h = 9, w = 7;
        var rng = new Random(kernel * 100 + padding * 10 + stride);
        var layer = Random(inChannels, outChannels, kernel, padding, stride, rng);
        CheckForwardAndGradients(layer, [batch, inChannels, h, w], RandomFloats(rng, batch * inChannels * h * w),
            (x, p) => Reference(x, p[0], p[1], batch, inChannels, outChannels, h, w, kernel, padding, stride), rng);
    }

    [Fact]
    public void Conv2d_with_a_five_by_five_kernel_and_padding_two_matches_finite_differences()
    {
        const int batch = 1, inChannels = 2, outChannels = 3, h = 6, w = 5;
        var rng = new Random(55);
        var layer = Random(inChannels, outChannels, 5, 2, 1, rng);
        CheckForwardAndGradients(layer, [batch, inChannels, h, w], RandomFloats(rng, batch * inChannels * h * w),
            (x, p) => Reference(x, p[0], p[1], batch, inChannels, outChannels, h, w, 5, 2, 1), rng);
    }

    [Theory]
    [InlineData(3, 0, 1, 9, 7, 7, 5)]
    [InlineData(3, 1, 1, 9, 7, 9, 7)]
    [InlineData(3, 1, 2, 9, 7, 5, 4)]
    [InlineData(3, 0, 2, 9, 7, 4, 3)]
    [InlineData(1, 0, 2, 9, 7, 5, 4)]
    [InlineData(1, 1, 1, 9, 7, 11, 9)]
    [InlineData(3, 0, 2, 3, 4, 1, 1)]
    public void Conv2d_output_shape_follows_the_floor_formula(int kernel, int padding, int stride, int h, int w, int oh, int ow)
    {
        var layer = new Conv2d("conv", 3, 5, kernel, padding, stride);
        Assert.Equal([5, oh, ow], layer.OutputShape([3, h, w]));
        Assert.Equal([5, 3, kernel, kernel], layer.Weight.Value.Shape.ToArray());
        Assert.Equal([5], layer.Bias.Value.Shape.ToArray());
        Assert.True(layer.Weight.Prunable);
        Assert.False(layer.Bias.Prunable);
        Assert.Equal(["conv.weight", "conv.bias"], layer.Parameters.Select(p => p.Name).ToArray());
    }

    [Fact]
    public void Conv2d_backward_without_input_gradient_returns_null_but_writes_parameter_gradients()
    {
        var rng = new Random(9);
        CheckParameterGradientsWithoutInputGradient(Random(3, 5, 3, 1, 2, rng), [2, 3, 9, 7], rng);
    }

    [Fact]
    public void A_pruned_conv2d_runs_on_the_sparse_kernels_and_its_pruned_weights_get_no_gradient()
    {
        const int batch = 5, inC = 8, outC = 12, size = 9;
        var rng = new Random(21);
        float[] Values(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var layer = new Conv2d("conv", inC, outC, kernel: 3, padding: 1);
        Values(layer.Weight.Count).CopyTo(layer.Weight.Value.Span);
        Values(outC).CopyTo(layer.Bias.Value.Span);
        var keep = Enumerable.Range(0, layer.Weight.Count).Select(_ => rng.NextDouble() < 0.05 ? 1f : 0f).ToArray();
        layer.Weight.SetMask(new Tensor(keep, outC, inC, 3, 3));
        var x = new Tensor(Values(batch * inC * size * size), batch, inC, size, size);
        var dy = new Tensor(Values(batch * outC * size * size), batch, outC, size, size);

        var y = layer.Forward(x, training: true).ReadOnlySpan.ToArray();
        var dx = layer.Backward(dy, needInputGradient: true)!.ReadOnlySpan.ToArray();

        var w = layer.Weight.Value.ReadOnlySpan;
        float[] ey = new float[y.Length], edx = new float[dx.Length], edw = new float[layer.Weight.Count], edb = new float[outC];
        SparseConvolution.Forward(x.ReadOnlySpan, w, layer.Bias.Value.ReadOnlySpan, ey, batch, inC, size, size, outC, 3, 1);
        SparseConvolution.InputGradient(dy.ReadOnlySpan, w, edx, batch, inC, size, size, outC, 3, 1);
        SparseConvolution.WeightGradient(x.ReadOnlySpan, dy.ReadOnlySpan, keep, edw, edb, batch, inC, size, size, outC, 3, 1);
        Assert.Equal(ey, y);
        Assert.Equal(edx, dx);
        Assert.Equal(edw, layer.Weight.Gradient.ReadOnlySpan.ToArray());
        Assert.Equal(edb, layer.Bias.Gradient.ReadOnlySpan.ToArray());
        for (int i = 0; i < keep.Length; i++)
            if (keep[i] == 0) Assert.Equal(0f, layer.Weight.Gradient.ReadOnlySpan[i]);
        // And the sparse result is the convolution: against the double reference.
        var expected = Reference(x.ReadOnlySpan.ToArray().Select(v => (double)v).ToArray(),
            w.ToArray().Select(v => (double)v).ToArray(), layer.Bias.Value.ReadOnlySpan.ToArray().Select(v => (double)v).ToArray(), batch, inC, outC, size, size, 3, 1, 1);
        Shears.Tests.TestSupport.Tolerance.AssertClose(y, expected, atol: 1e-5, rtol: 1e-5);
    }

    [Fact]
    public void Conv2d_backward_without_forward_throws()
    {
        var layer = new Conv2d("conv4", 3, 5, 3);
        Assert.Contains("conv4", Assert.Throws<InvalidOperationException>(() => layer.Backward(new Tensor(1, 5, 1, 1), true)).Message);
        layer.Forward(new Tensor(1, 3, 3, 3), training: false);
        Assert.Throws<InvalidOperationException>(() => layer.Backward(new Tensor(1, 5, 1, 1), true));
    }

    [Theory]
    [InlineData(new[] { 3, 9, 7 })]       // no batch axis
    [InlineData(new[] { 2, 4, 9, 7 })]    // wrong channel count
    [InlineData(new[] { 2, 3, 2, 7 })]    // too short for a 3×3 kernel
    [InlineData(new[] { 2, 3, 9, 1 })]    // too narrow
    public void Conv2d_forward_with_a_wrong_input_shape_throws_naming_the_layer(int[] shape)
    {
        var layer = new Conv2d("conv4", 3, 5, 3);
        Assert.Contains("conv4", Assert.Throws<ArgumentException>(() => layer.Forward(new Tensor(shape), training: false)).Message);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(2, 2)]
    public void Conv2d_output_shape_rejects_an_image_smaller_than_the_kernel_naming_the_layer(int padding, int stride)
    {
        // 2 rows + 2·padding is still below a 7×7 kernel.
        var layer = new Conv2d("conv4", 3, 5, 7, padding, stride);
        Assert.Contains("conv4", Assert.Throws<ArgumentException>(() => layer.OutputShape([3, 2, 9])).Message);
    }

    [Fact]
    public void Conv2d_output_shape_rejects_a_stride_two_kernel_that_overhangs_a_short_image()
    {
        // (2 − 3) / 2 truncates to 0 in integer division; the output must still count as empty.
        var layer = new Conv2d("conv4", 3, 5, 3, padding: 0, stride: 2);
        Assert.Contains("conv4", Assert.Throws<ArgumentException>(() => layer.OutputShape([3, 2, 9])).Message);
        Assert.Contains("conv4", Assert.Throws<ArgumentException>(() => layer.OutputShape([4, 9, 9])).Message);
    }

    [Theory]
    [InlineData(0, 1, 3, 0, 1)]
    [InlineData(1, 0, 3, 0, 1)]
    [InlineData(1, 1, 0, 0, 1)]
    [InlineData(1, 1, 3, -1, 1)]
    [InlineData(1, 1, 3, 0, 0)]
    public void Conv2d_rejects_a_bad_geometry(int inChannels, int outChannels, int kernel, int padding, int stride)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2d("conv", inChannels, outChannels, kernel, padding, stride));
    }

    [Fact]
    public void HeUniform_initialises_conv_weights_with_a_fan_in_of_channels_times_kernel_area()
    {
        var model = new Sequential("cnn", [3, 9, 7], new Conv2d("conv1", 3, 8, 3, 1), new Relu("relu"), new Flatten("flatten"), new Linear("fc", 8 * 9 * 7, 4));
        model.GetParameter("conv1.bias").Value.Span.Fill(5f);
        Initializer.HeUniform(model, seed: 2);
        float bound = MathF.Sqrt(6f / (3 * 3 * 3));
        var w = model.GetParameter("conv1.weight").Value.ReadOnlySpan.ToArray();
        Assert.All(w, v => Assert.InRange(v, -bound, bound));
        Assert.True(w.Max() > bound * 0.8f && w.Min() < -bound * 0.8f, $"conv weights do not spread over ±{bound}");
        Assert.All(model.GetParameter("conv1.bias").Value.ReadOnlySpan.ToArray(), v => Assert.Equal(0f, v));
    }

    /// <summary>Mean cross-entropy of conv(k3, p1) → ReLU → max-pool 2 → flatten → linear in double, with how close it comes to a kink or a pooling tie.</summary>
    private static double CnnReferenceLoss(double[] x, IReadOnlyList<double[]> p, int[] labels, out double closestToKink)
    {
        const int batch = 2, c = 2, f = 3, h = 8, w = 8;
        var a = Reference(x, p[0], p[1], batch, c, f, h, w, 3, 1, 1);
        closestToKink = a.Min(Math.Abs);
        var r = a.Select(v => Math.Max(v, 0)).ToArray();
        for (int plane = 0; plane < batch * f; plane++)
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++)
                {
                    var window = new[] { r[plane * 64 + 2 * i * 8 + 2 * j], r[plane * 64 + 2 * i * 8 + 2 * j + 1], r[plane * 64 + (2 * i + 1) * 8 + 2 * j], r[plane * 64 + (2 * i + 1) * 8 + 2 * j + 1] };
                    Array.Sort(window);
                    if (window[3] > 0) closestToKink = Math.Min(closestToKink, window[3] - window[2]);
                }
        var pooled = MaxPool2dTests.Reference(r, batch, f, h, w, 2, 2);
        var logits = LinearTests.Reference(pooled, p[2], p[3], batch, f * 16, 4);
        return SoftmaxCrossEntropyTests.Reference(logits, labels, 4);
    }

    [Fact]
    public void Cnn_backward_matches_finite_differences_of_the_double_loss()
    {
        var rng = new Random(17);
        var model = new Sequential("cnn", [2, 8, 8],
            new Conv2d("conv1", 2, 3, 3, padding: 1), new Relu("relu1"), new MaxPool2d("pool1", 2), new Flatten("flatten"), new Linear("fc", 3 * 4 * 4, 4));
        foreach (var p in model.Parameters) Fill(p, rng, 0.5);
        var input = RandomFloats(rng, 2 * 2 * 8 * 8);
        int[] labels = [3, 1];

        var logits = model.Forward(new Tensor((float[])input.Clone(), 2, 2, 8, 8), training: true);
        var (value, gradient) = new SoftmaxCrossEntropy().Compute(logits, labels);
        model.Backward(gradient);

        var x = ToDouble(input);
        var theta = model.Parameters.Select(p => ToDouble(p.Value.ReadOnlySpan)).ToList();
        AssertClose(CnnReferenceLoss(x, theta, labels, out double closest), value, "loss", 1e-5, 1e-5);
        Assert.True(closest > 1e-4, $"the seed puts an activation {closest} from a ReLU kink or pooling tie; pick another");
        for (int k = 0; k < theta.Count; k++)
            AssertAllClose(CentralDifferences(theta[k], () => CnnReferenceLoss(x, theta, labels, out _)), model.Parameters[k].Gradient.ReadOnlySpan,
                $"dLoss/d{model.Parameters[k].Name}", 1e-5, 1e-3);
    }
}
