using Shears.Tensors;
using Shears.Tests.TestSupport;

namespace Shears.Tests.Tensors;

public sealed class Im2ColTests
{
    public static TheoryData<int, int, int, int, int, int, int> Geometries()
    {
        var data = new TheoryData<int, int, int, int, int, int, int>();
        // batch, channels, height, width, kernel, padding, stride
        foreach (int kernel in new[] { 1, 3, 5 })
            foreach (int padding in new[] { 0, 1 })
                foreach (int stride in new[] { 1, 2 })
                {
                    data.Add(1, 1, 7, 7, kernel, padding, stride);
                    data.Add(3, 2, 9, 11, kernel, padding, stride);
                    data.Add(2, 3, 5, 13, kernel, padding, stride);
                }
        data.Add(1, 1, 3, 3, 5, 1, 1);    // kernel wider than the image: most taps in the padding
        data.Add(2, 2, 1, 9, 3, 1, 2);    // one-row images
        data.Add(2, 2, 6, 5, 5, 2, 1);    // 'same' padding with a 5×5 kernel: column shifts of ±2
        data.Add(1, 1, 3, 2, 5, 2, 1);    // 'same' padding wider than the image: some taps never land
        data.Add(2, 3, 1, 6, 3, 1, 1);    // 'same' padding on one-row images
        data.Add(4, 32, 14, 14, 3, 1, 1); // the CNN's second conv, large enough to run in parallel
        data.Add(128, 1, 28, 28, 3, 1, 1);
        return data;
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Im2col_forward_matches_naive_reference(int batch, int channels, int height, int width, int kernel, int padding, int stride)
    {
        var rng = new Random(batch * 1000 + channels * 100 + height * 10 + width + kernel * 7 + padding * 3 + stride);
        float[] images = Random(rng, batch * channels * height * width);
        int oh = Im2Col.OutputSize(height, kernel, padding, stride), ow = Im2Col.OutputSize(width, kernel, padding, stride);
        var columns = new float[channels * kernel * kernel * batch * oh * ow + 5];
        columns.AsSpan().Fill(float.NaN);   // every column entry must be written, padding taps with 0

        Im2Col.Forward(images, batch, channels, height, width, kernel, padding, stride, columns);

        double[] expected = ReferenceForward(images, batch, channels, height, width, kernel, padding, stride);
        Tolerance.AssertClose(columns.AsSpan(0, expected.Length), expected, 0, 0);
        Assert.All(columns[expected.Length..], v => Assert.True(float.IsNaN(v)));
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Col2im_backward_matches_naive_reference(int batch, int channels, int height, int width, int kernel, int padding, int stride)
    {
        var rng = new Random(7 + batch * 1000 + channels * 100 + height * 10 + width + kernel * 7 + padding * 3 + stride);
        int oh = Im2Col.OutputSize(height, kernel, padding, stride), ow = Im2Col.OutputSize(width, kernel, padding, stride);
        float[] columns = Random(rng, channels * kernel * kernel * batch * oh * ow);
        var images = new float[batch * channels * height * width];
        images.AsSpan().Fill(float.NaN);   // overwritten, not accumulated

        Im2Col.Backward(columns, batch, channels, height, width, kernel, padding, stride, images);

        double[] expected = ReferenceBackward(columns, batch, channels, height, width, kernel, padding, stride);
        Tolerance.AssertClose(images, expected, 1e-6, 1e-6);
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Col2im_that_may_overwrite_its_columns_matches_naive_reference(int batch, int channels, int height, int width, int kernel, int padding, int stride)
    {
        var rng = new Random(8 + batch * 1000 + channels * 100 + height * 10 + width + kernel * 7 + padding * 3 + stride);
        int oh = Im2Col.OutputSize(height, kernel, padding, stride), ow = Im2Col.OutputSize(width, kernel, padding, stride);
        float[] columns = Random(rng, channels * kernel * kernel * batch * oh * ow);
        double[] expected = ReferenceBackward(columns, batch, channels, height, width, kernel, padding, stride);
        var images = new float[batch * channels * height * width];
        images.AsSpan().Fill(float.NaN);

        Im2Col.BackwardOverwritingColumns(columns, batch, channels, height, width, kernel, padding, stride, images);

        Tolerance.AssertClose(images, expected, 1e-6, 1e-6);
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Col2im_is_the_adjoint_of_im2col(int batch, int channels, int height, int width, int kernel, int padding, int stride)
    {
        // <im2col(x), y> == <x, col2im(y)> for random x and y.
        var rng = new Random(99 + kernel + padding * 10 + stride * 100 + batch);
        int oh = Im2Col.OutputSize(height, kernel, padding, stride), ow = Im2Col.OutputSize(width, kernel, padding, stride);
        float[] x = Random(rng, batch * channels * height * width);
        float[] y = Random(rng, channels * kernel * kernel * batch * oh * ow);
        var colX = new float[y.Length];
        var imgY = new float[x.Length];
        Im2Col.Forward(x, batch, channels, height, width, kernel, padding, stride, colX);
        Im2Col.Backward(y, batch, channels, height, width, kernel, padding, stride, imgY);
        double lhs = Dot(colX, y), rhs = Dot(x, imgY);
        Assert.True(Math.Abs(lhs - rhs) <= 1e-4 * Math.Sqrt(y.Length) + 1e-5 * Math.Abs(lhs), $"<im2col(x), y> = {lhs} but <x, col2im(y)> = {rhs}");
    }

    [Fact]
    public void Im2col_is_bitwise_deterministic()
    {
        var rng = new Random(3);
        float[] x = Random(rng, 16 * 32 * 14 * 14);
        var a = new float[32 * 9 * 16 * 14 * 14];
        var b = new float[a.Length];
        Im2Col.Forward(x, 16, 32, 14, 14, 3, 1, 1, a);
        Im2Col.Forward(x, 16, 32, 14, 14, 3, 1, 1, b);
        Assert.True(a.AsSpan().SequenceEqual(b));
        var ia = new float[x.Length];
        var ib = new float[x.Length];
        Im2Col.Backward(a, 16, 32, 14, 14, 3, 1, 1, ia);
        Im2Col.Backward(a, 16, 32, 14, 14, 3, 1, 1, ib);
        Assert.True(ia.AsSpan().SequenceEqual(ib));
    }

    [Fact]
    public void Output_size_follows_the_convolution_formula()
    {
        Assert.Equal(28, Im2Col.OutputSize(28, 3, 1, 1));
        Assert.Equal(14, Im2Col.OutputSize(28, 3, 1, 2));
        Assert.Equal(26, Im2Col.OutputSize(28, 3, 0, 1));
        Assert.Equal(1, Im2Col.OutputSize(3, 5, 1, 1));
        Assert.Equal(5, Im2Col.OutputSize(9, 3, 1, 2));
        Assert.Equal(3, Im2Col.OutputSize(8, 3, 0, 2));
    }

    [Fact]
    public void Im2col_rejects_bad_geometry_and_short_spans()
    {
        Assert.Throws<ArgumentException>(() => Im2Col.OutputSize(3, 7, 1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Im2Col.OutputSize(5, 0, 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Im2Col.OutputSize(5, 3, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Im2Col.OutputSize(5, 3, -1, 1));
        var images = new float[2 * 3 * 5 * 5];
        var columns = new float[3 * 9 * 2 * 25];
        var e = Assert.Throws<ArgumentException>(() => Im2Col.Forward(images.AsSpan(1), 2, 3, 5, 5, 3, 1, 1, columns));
        Assert.Contains("images", e.Message);
        Assert.Throws<ArgumentException>(() => Im2Col.Forward(images, 2, 3, 5, 5, 3, 1, 1, columns.AsSpan(1)));
        Assert.Throws<ArgumentException>(() => Im2Col.Backward(columns.AsSpan(1), 2, 3, 5, 5, 3, 1, 1, images));
        Assert.Throws<ArgumentException>(() => Im2Col.Backward(columns, 2, 3, 5, 5, 3, 1, 1, images.AsSpan(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Im2Col.Forward(images, -1, 3, 5, 5, 3, 1, 1, columns));
        var shared = new float[columns.Length + images.Length];
        Assert.Throws<ArgumentException>(() => Im2Col.Forward(shared, 2, 3, 5, 5, 3, 1, 1, shared.AsSpan(10)));
    }

    private static float[] Random(Random rng, int length)
    {
        var x = new float[length];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }

    private static double Dot(float[] a, float[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += (double)a[i] * b[i];
        return s;
    }

    private static double[] ReferenceForward(float[] images, int batch, int channels, int height, int width, int kernel, int padding, int stride)
    {
        int oh = (height + 2 * padding - kernel) / stride + 1, ow = (width + 2 * padding - kernel) / stride + 1;
        int wide = batch * oh * ow;
        var col = new double[channels * kernel * kernel * wide];
        for (int c = 0; c < channels; c++)
            for (int ky = 0; ky < kernel; ky++)
                for (int kx = 0; kx < kernel; kx++)
                    for (int n = 0; n < batch; n++)
                        for (int oy = 0; oy < oh; oy++)
                            for (int ox = 0; ox < ow; ox++)
                            {
                                int iy = oy * stride - padding + ky, ix = ox * stride - padding + kx;
                                bool inside = iy >= 0 && iy < height && ix >= 0 && ix < width;
                                col[((c * kernel + ky) * kernel + kx) * wide + n * oh * ow + oy * ow + ox] =
                                    inside ? images[((n * channels + c) * height + iy) * width + ix] : 0.0;
                            }
        return col;
    }

    private static double[] ReferenceBackward(float[] columns, int batch, int channels, int height, int width, int kernel, int padding, int stride)
    {
        int oh = (height + 2 * padding - kernel) / stride + 1, ow = (width + 2 * padding - kernel) / stride + 1;
        int wide = batch * oh * ow;
        var img = new double[batch * channels * height * width];
        for (int c = 0; c < channels; c++)
            for (int ky = 0; ky < kernel; ky++)
                for (int kx = 0; kx < kernel; kx++)
                    for (int n = 0; n < batch; n++)
                        for (int oy = 0; oy < oh; oy++)
                            for (int ox = 0; ox < ow; ox++)
                            {
                                int iy = oy * stride - padding + ky, ix = ox * stride - padding + kx;
                                if (iy >= 0 && iy < height && ix >= 0 && ix < width)
                                    img[((n * channels + c) * height + iy) * width + ix] +=
                                        columns[((c * kernel + ky) * kernel + kx) * wide + n * oh * ow + oy * ow + ox];
                            }
        return img;
    }
}
