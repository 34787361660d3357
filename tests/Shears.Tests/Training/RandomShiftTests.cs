using Shears.Data;
using Shears.Nn;
using Shears.Training;
using static Shears.Tests.Training.TrainingTestSupport;

namespace Shears.Tests.Training;

public sealed class RandomShiftTests
{
    /// <summary>out[c, y, x] = in[c, y − dy, x − dx], 0 outside, written index by index.</summary>
    private static float[] Reference(float[] image, int channels, int height, int width, int dy, int dx)
    {
        var result = new float[image.Length];
        for (int c = 0; c < channels; c++)
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                {
                    int sy = y - dy, sx = x - dx;
                    result[(c * height + y) * width + x] = sy >= 0 && sy < height && sx >= 0 && sx < width ? image[(c * height + sy) * width + sx] : 0f;
                }
        return result;
    }

    [Theory]
    [InlineData(1, 5, 7, 2)]
    [InlineData(2, 6, 5, 2)]
    [InlineData(3, 28, 28, 3)]
    public void Translate_moves_every_channel_and_fills_with_zeros(int channels, int height, int width, int maxShift)
    {
        var rng = new Random(channels * 100 + height);
        var image = Enumerable.Range(0, channels * height * width).Select(_ => (float)(rng.NextDouble() + 0.5)).ToArray();
        var shift = new RandomShift(maxShift, [channels, height, width]);
        for (int dy = -maxShift; dy <= maxShift; dy++)
            for (int dx = -maxShift; dx <= maxShift; dx++)
            {
                var moved = (float[])image.Clone();
                shift.Translate(moved, dy, dx);
                Assert.Equal(Reference(image, channels, height, width, dy, dx), moved);
            }
    }

    [Fact]
    public void Apply_moves_each_image_by_its_own_offset_and_draws_every_offset_in_range()
    {
        // Each image is one lit pixel in the middle of a 9×9 plane: where it lands gives the offset drawn.
        const int side = 9, count = 400, maxShift = 2;
        var images = new float[count * side * side];
        for (int i = 0; i < count; i++) images[i * side * side + 4 * side + 4] = 1f;
        new RandomShift(maxShift, [1, side, side]).Apply(images, count, new Random(5));

        var seen = new HashSet<(int, int)>();
        for (int i = 0; i < count; i++)
        {
            var plane = images.AsSpan(i * side * side, side * side);
            int lit = plane.IndexOf(1f);
            Assert.Equal(1f, plane.ToArray().Sum());
            seen.Add((lit / side - 4, lit % side - 4));
        }
        var all = from dy in Enumerable.Range(-maxShift, 2 * maxShift + 1) from dx in Enumerable.Range(-maxShift, 2 * maxShift + 1) select (dy, dx);
        Assert.Equal(all.ToHashSet(), seen);
    }

    [Fact]
    public void Shapes_that_cannot_be_shifted_are_refused_by_name()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandomShift(0, [1, 28, 28]));
        Assert.Contains("[784]", Assert.Throws<ArgumentException>(() => new RandomShift(1, [784])).Message);
        var e = Assert.Throws<ArgumentException>(() => RandomShift.Check(2, [1, 4, 4], "The samples of model 'tiny'"));
        Assert.Contains("model 'tiny'", e.Message);
        Assert.Contains("at most 1", e.Message);
        RandomShift.Check(0, [784], "anything"); // no shift: any shape
        RandomShift.Check(1, [1, 4, 4], "fits");
    }

    [Fact]
    public void Training_with_shifts_is_seeded_and_differs_from_training_without()
    {
        var train = Synthetic(250, seed: 1);
        var options = new TrainingOptions { Epochs = 2, BatchSize = 32, LearningRate = 0.01f, Seed = 7, MaxShift = 1 };
        var a = Fcn(initSeed: 3);
        var b = Fcn(initSeed: 3);
        var plain = Fcn(initSeed: 3);
        new Trainer(a, options).Train(train);
        new Trainer(b, options).Train(train);
        new Trainer(plain, options with { MaxShift = 0 }).Train(train);
        Assert.Equal(WeightBits(a), WeightBits(b));
        Assert.NotEqual(WeightBits(a), WeightBits(plain));
        // The training set itself is left as it was.
        Assert.Equal(Synthetic(250, seed: 1).Images, train.Images);
    }

    [Fact]
    public void A_model_whose_samples_cannot_be_shifted_is_refused_before_training()
    {
        var flat = new Sequential("flat", [16], new Linear("fc", 16, Classes));
        var data = new Dataset("flat", new float[32], [0, 1], [16], Classes);
        var e = Assert.Throws<ArgumentException>(() => new Trainer(flat, new TrainingOptions { Epochs = 1, MaxShift = 1 }).Train(data));
        Assert.Contains("model 'flat'", e.Message);
    }
}
