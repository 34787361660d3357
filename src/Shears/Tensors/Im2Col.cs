namespace Shears.Tensors;

/// <summary>
/// im2col / col2im over a whole NCHW batch. Columns are laid out [channels·k·k, batch·outH·outW]: row
/// r = (c·k + ky)·k + kx, column n·outH·outW + oy·outW + ox; taps that fall outside the image read 0.
/// </summary>
public static class Im2Col
{
    public static int OutputSize(int size, int kernel, int padding, int stride) => (size + 2 * padding - kernel) / stride + 1;

    public static void Forward(ReadOnlySpan<float> images, int batch, int channels, int height, int width, int kernel, int padding, int stride, Span<float> columns)
    {
        int oh = OutputSize(height, kernel, padding, stride), ow = OutputSize(width, kernel, padding, stride);
        int wide = batch * oh * ow;
        for (int c = 0; c < channels; c++)
            for (int ky = 0; ky < kernel; ky++)
                for (int kx = 0; kx < kernel; kx++)
                {
                    int row = (c * kernel + ky) * kernel + kx;
                    for (int n = 0; n < batch; n++)
                        for (int oy = 0; oy < oh; oy++)
                        {
                            int iy = oy * stride - padding + ky;
                            int dst = row * wide + n * oh * ow + oy * ow;
                            for (int ox = 0; ox < ow; ox++)
                            {
                                int ix = ox * stride - padding + kx;
                                columns[dst + ox] = (uint)iy < (uint)height && (uint)ix < (uint)width
                                    ? images[((n * channels + c) * height + iy) * width + ix] : 0f;
                            }
                        }
                }
    }

    public static void Backward(ReadOnlySpan<float> columns, int batch, int channels, int height, int width, int kernel, int padding, int stride, Span<float> images)
    {
        int oh = OutputSize(height, kernel, padding, stride), ow = OutputSize(width, kernel, padding, stride);
        int wide = batch * oh * ow;
        images.Slice(0, batch * channels * height * width).Clear();
        for (int c = 0; c < channels; c++)
            for (int ky = 0; ky < kernel; ky++)
                for (int kx = 0; kx < kernel; kx++)
                {
                    int row = (c * kernel + ky) * kernel + kx;
                    for (int n = 0; n < batch; n++)
                        for (int oy = 0; oy < oh; oy++)
                        {
                            int iy = oy * stride - padding + ky;
                            if ((uint)iy >= (uint)height) continue;
                            int src = row * wide + n * oh * ow + oy * ow;
                            for (int ox = 0; ox < ow; ox++)
                            {
                                int ix = ox * stride - padding + kx;
                                if ((uint)ix < (uint)width) images[((n * channels + c) * height + iy) * width + ix] += columns[src + ox];
                            }
                        }
                }
    }
}
