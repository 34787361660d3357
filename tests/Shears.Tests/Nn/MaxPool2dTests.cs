using Shears.Nn;
using static Shears.Tests.Nn.NnTestSupport;

namespace Shears.Tests.Nn;

public class MaxPool2dTests
{
    /// <summary>Naive max over each k×k window at stride s; windows that would run past the edge are dropped (floor).</summary>
    internal static double[] Reference(double[] x, int batch, int channels, int h, int w, int k, int s)
    {
        int oh = (h - k) / s + 1, ow = (w - k) / s + 1;
        var y = new double[batch * channels * oh * ow];
        for (int n = 0; n < batch; n++)
            for (int c = 0; c < channels; c++)
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++)
                    {
                        double best = double.NegativeInfinity;
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++)
                                best = Math.Max(best, x[((n * channels + c) * h + i * s + ky) * w + j * s + kx]);
                        y[((n * channels + c) * oh + i) * ow + j] = best;
                    }
        return y;
    }

    [Theory]
    [InlineData(2, 0, 8, 6)]   // exact tiling
    [InlineData(2, 0, 9, 7)]   // odd: drops the last row and column
    [InlineData(3, 2, 9, 7)]   // overlapping windows that tile exactly
    [InlineData(3, 2, 10, 8)]  // overlapping windows that drop the last row and column
    [InlineData(2, 1, 5, 4)]   // stride below the kernel
    [InlineData(3, 0, 7, 11)]  // stride = kernel = 3, drops one row and two columns
    public void MaxPool2d_forward_matches_reference_and_backward_matches_finite_differences(int kernel, int stride, int h, int w)
    {
        var rng = new Random(kernel * 100 + stride * 10 + h * w);
        var layer = new MaxPool2d("pool", kernel, stride);
        int s = layer.Stride;
        Assert.Equal(stride == 0 ? kernel : stride, s);
        const int batch = 2, channels = 3;
        Assert.Equal([channels, (h - kernel) / s + 1, (w - kernel) / s + 1], layer.OutputShape([channels, h, w]));
        CheckForwardAndGradients(layer, [batch, channels, h, w], DistinctValues(rng, batch * channels * h * w),
            (x, _) => Reference(x, batch, channels, h, w, kernel, s), rng);
    }

    [Fact]
    public void MaxPool2d_ignores_a_trailing_row_and_column_that_do_not_fill_a_window()
    {
        var layer = new MaxPool2d("pool", 2);
        // 3×3 plane: the largest values sit in the last row and column, which no 2×2 window covers.
        var x = new Tensor([1f, 2f, 90f, 3f, 4f, 91f, 92f, 93f, 94f], 1, 1, 3, 3);
        var y = layer.Forward(x, training: true);
        Assert.Equal([1, 1, 1, 1], y.Shape.ToArray());
        Assert.Equal(4f, y[0, 0, 0, 0]);
        var dx = layer.Backward(new Tensor([2.5f], 1, 1, 1, 1), needInputGradient: true)!;
        Assert.Equal([0f, 0f, 0f, 0f, 2.5f, 0f, 0f, 0f, 0f], dx.ReadOnlySpan.ToArray());
    }

    [Fact]
    public void MaxPool2d_overlapping_windows_add_their_gradients_at_a_shared_maximum()
    {
        var layer = new MaxPool2d("pool", 3, 2);
        // 5×5 plane with its maximum at the centre, which all four 3×3 windows (stride 2) contain.
        var data = new float[25];
        data[12] = 10f;
        var y = layer.Forward(new Tensor(data, 1, 1, 5, 5), training: true);
        Assert.Equal([10f, 10f, 10f, 10f], y.ReadOnlySpan.ToArray());
        var dx = layer.Backward(new Tensor([1f, 2f, 3f, 4f], 1, 1, 2, 2), needInputGradient: true)!;
        Assert.Equal(10f, dx.ReadOnlySpan[12]);
        Assert.Equal(10f, dx.ReadOnlySpan.ToArray().Sum());
    }

    [Fact]
    public void MaxPool2d_propagates_nan()
    {
        var layer = new MaxPool2d("pool", 2);
        var y = layer.Forward(new Tensor([1f, float.NaN, 3f, 2f, 5f, 6f, 7f, 8f], 1, 2, 2, 2), training: false);
        Assert.True(float.IsNaN(y[0, 0, 0, 0]));
        Assert.Equal(8f, y[0, 1, 0, 0]);
    }

    /// <summary>
    /// Widths from 8 (one 256-bit chunk) up past 32, odd ones that drop a column, and values drawn from a few
    /// levels (as ReLU outputs are: many ties, most of them zeros) with a NaN here and there: the vector row kernels
    /// must agree exactly with a window-by-window reference, first maximum in row-major order, first NaN winning.
    /// </summary>
    [Theory]
    [InlineData(28, 28)]
    [InlineData(14, 14)]
    [InlineData(6, 8)]
    [InlineData(5, 17)]
    [InlineData(4, 16)]
    [InlineData(3, 33)]
    [InlineData(7, 46)]
    public void MaxPool2d_2x2_matches_a_window_by_window_reference_with_ties_and_nan(int h, int w)
    {
        var rng = new Random(h * 100 + w);
        const int batch = 3, channels = 5;
        var x = new float[batch * channels * h * w];
        for (int i = 0; i < x.Length; i++) x[i] = rng.Next(4) switch { 0 or 1 => 0f, 2 => 1.5f, _ => rng.Next(3) };
        for (int i = 0; i < 4; i++) x[rng.Next(x.Length)] = float.NaN;
        var layer = new MaxPool2d("pool", 2);
        var y = layer.Forward(new Tensor(x, batch, channels, h, w), training: true);
        int oh = h / 2, ow = w / 2;
        var dy = RandomFloats(rng, y.Length);
        var dx = layer.Backward(new Tensor(dy, y.Shape.ToArray()), needInputGradient: true)!;

        var expectedDx = new float[x.Length];
        for (int p = 0; p < batch * channels; p++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    int[] window = [(p * h + 2 * i) * w + 2 * j, (p * h + 2 * i) * w + 2 * j + 1, (p * h + 2 * i + 1) * w + 2 * j, (p * h + 2 * i + 1) * w + 2 * j + 1];
                    int nan = Array.FindIndex(window, k => float.IsNaN(x[k]));
                    float max = nan >= 0 ? float.NaN : window.Max(k => x[k]);
                    int winner = nan >= 0 ? window[nan] : window.First(k => x[k] == max);
                    float got = y.ReadOnlySpan[(p * oh + i) * ow + j];
                    Assert.True(nan >= 0 ? float.IsNaN(got) : got == max, $"plane {p} window ({i}, {j}): {got} instead of {max}");
                    expectedDx[winner] = dy[(p * oh + i) * ow + j];
                }
        Assert.Equal(expectedDx, dx.ReadOnlySpan.ToArray());
    }

    [Fact]
    public void MaxPool2d_handles_many_planes_split_across_threads()
    {
        var rng = new Random(8);
        const int batch = 7, channels = 13, h = 9, w = 7;
        var layer = new MaxPool2d("pool", 2);
        var x = DistinctValues(rng, batch * channels * h * w);
        var y = layer.Forward(new Tensor(x, batch, channels, h, w), training: true);
        AssertAllClose(Reference(ToDouble(x), batch, channels, h, w, 2, 2), y.ReadOnlySpan, "pool forward", 0, 0);
        // Each output's gradient lands on its window's maximum; nothing else receives any.
        var dy = RandomFloats(rng, y.Length);
        var dx = layer.Backward(new Tensor(dy, y.Shape.ToArray()), needInputGradient: true)!;
        AssertClose(dy.Select(v => (double)v).Sum(), dx.ReadOnlySpan.ToArray().Select(v => (double)v).Sum(), "sum of gradients");
        var maxima = y.ReadOnlySpan.ToArray().ToHashSet();
        for (int i = 0; i < x.Length; i++)
            if (dx.ReadOnlySpan[i] != 0) Assert.Contains(x[i], maxima);
    }

    [Fact]
    public void MaxPool2d_backward_without_input_gradient_returns_null()
    {
        var layer = new MaxPool2d("pool", 2);
        layer.Forward(new Tensor(1, 1, 4, 4), training: true);
        Assert.Null(layer.Backward(new Tensor(1, 1, 2, 2), needInputGradient: false));
    }

    [Fact]
    public void MaxPool2d_backward_without_forward_throws()
    {
        var layer = new MaxPool2d("pool5", 2);
        Assert.Contains("pool5", Assert.Throws<InvalidOperationException>(() => layer.Backward(new Tensor(1, 1, 2, 2), true)).Message);
        layer.Forward(new Tensor(1, 1, 4, 4), training: false);
        Assert.Throws<InvalidOperationException>(() => layer.Backward(new Tensor(1, 1, 2, 2), true));
    }

    [Theory]
    [InlineData(new[] { 1, 4, 4 })]     // no batch axis
    [InlineData(new[] { 1, 1, 1, 4 })]  // smaller than the window
    [InlineData(new[] { 1, 1, 4, 1 })]
    public void MaxPool2d_forward_with_a_wrong_input_shape_throws_naming_the_layer(int[] shape)
    {
        var layer = new MaxPool2d("pool5", 2);
        Assert.Contains("pool5", Assert.Throws<ArgumentException>(() => layer.Forward(new Tensor(shape), training: false)).Message);
    }

    [Fact]
    public void MaxPool2d_output_shape_rejects_a_wrong_input_naming_the_layer()
    {
        var layer = new MaxPool2d("pool5", 3, 2);
        Assert.Contains("pool5", Assert.Throws<ArgumentException>(() => layer.OutputShape([4, 4])).Message);
        Assert.Contains("pool5", Assert.Throws<ArgumentException>(() => layer.OutputShape([1, 2, 9])).Message);
        Assert.Equal([1, 1, 4], layer.OutputShape([1, 3, 9]));
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(2, -1)]
    public void MaxPool2d_rejects_a_bad_geometry(int kernel, int stride)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new MaxPool2d("pool", kernel, stride));
    }
}
