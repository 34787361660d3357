using Shears.Tests.TestSupport;

namespace Shears.Tests.Cli;

/// <summary>Small learnable datasets for end-to-end command tests.</summary>
internal static class CliData
{
    /// <summary>
    /// Writes a 3-class dataset of 8×8 images into <paramref name="folder"/>: each class is a bright band in its
    /// own rows over noise, so a small network learns it in a few epochs. Test images are gzipped to exercise both forms.
    /// </summary>
    public static string Bands(string folder, int train = 240, int test = 60)
    {
        File.WriteAllBytes(Path.Combine(folder, "train-images-idx3-ubyte"), BandImages(train, seed: 1));
        File.WriteAllBytes(Path.Combine(folder, "train-labels-idx1-ubyte"), NoisyLabels(train));
        File.WriteAllBytes(Path.Combine(folder, "t10k-images-idx3-ubyte.gz"), DataIdx.Gzip(BandImages(test, seed: 2)));
        File.WriteAllBytes(Path.Combine(folder, "t10k-labels-idx1-ubyte"), NoisyLabels(test));
        return folder;
    }

    private static byte[] NoisyLabels(int count) =>
        DataIdx.Labels(Enumerable.Range(0, count).Select(i => (byte)(i % 10 == 9 ? (i + 1) % 3 : i % 3)).ToArray());

    private static byte[] BandImages(int count, int seed)
    {
        var rng = new Random(seed);
        var header = DataIdx.Header(DataIdx.ImagesMagic, count, 8, 8);
        var bytes = new byte[header.Length + count * 64];
        header.CopyTo(bytes, 0);
        for (int n = 0; n < count; n++)
            for (int p = 0; p < 64; p++)
            {
                bool band = p / 8 / 3 == n % 3;
                bytes[header.Length + n * 64 + p] = (byte)(band ? 180 + rng.Next(60) : rng.Next(60));
            }
        return bytes;
    }
}
