namespace Shears.Training;

/// <summary>
/// Training-time augmentation: each image of a batch is translated by a whole number of pixels drawn uniformly
/// from [−<see cref="MaxShift"/>, <see cref="MaxShift"/>] in each direction, and the pixels that come in from
/// outside are zero (MNIST's background). A digit moved by a pixel or two is the same digit, so the network
/// sees new images instead of memorising the training set; a pruned network re-learned this way can end more
/// accurate than its dense original trained without it. Distillation targets stay those of the unshifted image:
/// the teacher's view of how alike the classes look does not change with a small shift, and reading them from
/// the cache costs nothing, where running the teacher on every shifted batch would cost a forward pass.
/// </summary>
public sealed class RandomShift
{
    private readonly int _channels, _height, _width;
    private readonly float[] _scratch;

    /// <param name="maxShift">The largest translation in pixels (at least 1).</param>
    /// <param name="sampleShape">The images' shape, [channels, height, width]; each side must exceed twice <paramref name="maxShift"/>.</param>
    public RandomShift(int maxShift, ReadOnlySpan<int> sampleShape)
    {
        if (maxShift < 1) throw new ArgumentOutOfRangeException(nameof(maxShift), maxShift, "The largest shift must be at least 1 pixel.");
        Check(maxShift, sampleShape, "The images");
        MaxShift = maxShift;
        (_channels, _height, _width) = (sampleShape[0], sampleShape[1], sampleShape[2]);
        _scratch = new float[_channels * _height * _width];
    }

    public int MaxShift { get; }

    /// <summary>
    /// Throws unless samples of <paramref name="sampleShape"/> can be shifted by up to <paramref name="maxShift"/>
    /// pixels (0 always can); <paramref name="whose"/> names them in the message ("Model 'x' takes images that…").
    /// </summary>
    public static void Check(int maxShift, ReadOnlySpan<int> sampleShape, string whose)
    {
        if (maxShift == 0) return;
        if (sampleShape.Length != 3)
            throw new ArgumentException($"{whose} are [{string.Join(", ", sampleShape.ToArray())}], not images [channels, height, width], so they cannot be shifted.");
        if (sampleShape[1] <= 2 * maxShift || sampleShape[2] <= 2 * maxShift)
            throw new ArgumentException($"{whose} are {sampleShape[1]}×{sampleShape[2]}: a shift of up to {maxShift} pixels would move them out of view (at most {(Math.Min(sampleShape[1], sampleShape[2]) - 1) / 2} fits).");
    }

    /// <summary>Shifts each of the <paramref name="count"/> images in <paramref name="images"/> in place, by offsets drawn from <paramref name="random"/>.</summary>
    public void Apply(Span<float> images, int count, Random random)
    {
        int length = _scratch.Length;
        for (int i = 0; i < count; i++)
        {
            int dy = random.Next(-MaxShift, MaxShift + 1), dx = random.Next(-MaxShift, MaxShift + 1);
            Translate(images.Slice(i * length, length), dy, dx);
        }
    }

    /// <summary>
    /// Moves one image by (<paramref name="dy"/>, <paramref name="dx"/>): out[c, y, x] = in[c, y − dy, x − dx],
    /// zero where that falls outside the image.
    /// </summary>
    public void Translate(Span<float> image, int dy, int dx)
    {
        if (dy == 0 && dx == 0) return;
        Span<float> source = _scratch;
        image.CopyTo(source);
        image.Clear();
        // Columns that stay in view: out x in [max(0, dx), min(w, w + dx)).
        int x0 = Math.Max(0, dx), x1 = Math.Min(_width, _width + dx);
        int y0 = Math.Max(0, dy), y1 = Math.Min(_height, _height + dy);
        if (x1 <= x0 || y1 <= y0) return;
        int run = x1 - x0, plane = _height * _width;
        for (int c = 0; c < _channels; c++)
            for (int y = y0; y < y1; y++)
                source.Slice(c * plane + (y - dy) * _width + x0 - dx, run).CopyTo(image.Slice(c * plane + y * _width + x0, run));
    }
}
