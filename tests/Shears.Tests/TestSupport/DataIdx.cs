using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;
using Shears.Data;

namespace Shears.Tests.TestSupport;

/// <summary>Builds small IDX files for data-layer tests.</summary>
internal static class DataIdx
{
    public const int ImagesMagic = 0x00000803;
    public const int LabelsMagic = 0x00000801;

    /// <summary>A header: the big-endian magic then one big-endian int32 per dimension.</summary>
    public static byte[] Header(int magic, params int[] dims)
    {
        var bytes = new byte[4 + 4 * dims.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        for (int i = 0; i < dims.Length; i++)
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), dims[i]);
        return bytes;
    }

    /// <summary>An idx3 image file of <paramref name="count"/> images; pixel i of the file is (seed + 7 i) mod 256.</summary>
    public static byte[] Images(int count, int rows, int columns, int seed = 0)
    {
        var header = Header(ImagesMagic, count, rows, columns);
        var bytes = new byte[header.Length + count * rows * columns];
        header.CopyTo(bytes, 0);
        for (int i = header.Length; i < bytes.Length; i++)
            bytes[i] = (byte)(seed + 7 * (i - header.Length));
        return bytes;
    }

    public static byte[] Labels(params byte[] labels) => [.. Header(LabelsMagic, labels.Length), .. labels];

    /// <summary>Labels 0, 1, …, classes − 1, 0, 1, … for <paramref name="count"/> samples.</summary>
    public static byte[] CyclicLabels(int count, int classes) =>
        Labels(Enumerable.Range(0, count).Select(i => (byte)(i % classes)).ToArray());

    public static byte[] Gzip(byte[] content)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
            gzip.Write(content);
        return output.ToArray();
    }

    public static string Sha256(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));

    /// <summary>Writes the four files of an image-classification folder, gzipped or raw.</summary>
    public static DataFolderContent WriteFolder(string folder, bool gzip, int trainCount = 12, int testCount = 5, int rows = 4, int columns = 3, int classes = 3)
    {
        var content = DataFolderContent.Make(trainCount, testCount, rows, columns, classes);
        Directory.CreateDirectory(folder);
        foreach (var (name, bytes) in content.Files)
            File.WriteAllBytes(Path.Combine(folder, gzip ? name + ".gz" : name), gzip ? Gzip(bytes) : bytes);
        return content;
    }
}

/// <summary>The four files of a small synthetic dataset, uncompressed.</summary>
internal sealed record DataFolderContent(IReadOnlyDictionary<string, byte[]> Files)
{
    public const string TrainImages = "train-images-idx3-ubyte";
    public const string TrainLabels = "train-labels-idx1-ubyte";
    public const string TestImages = "t10k-images-idx3-ubyte";
    public const string TestLabels = "t10k-labels-idx1-ubyte";

    public static DataFolderContent Make(int trainCount = 12, int testCount = 5, int rows = 4, int columns = 3, int classes = 3) =>
        new(new Dictionary<string, byte[]>
        {
            [TrainImages] = DataIdx.Images(trainCount, rows, columns, seed: 1),
            [TrainLabels] = DataIdx.CyclicLabels(trainCount, classes),
            [TestImages] = DataIdx.Images(testCount, rows, columns, seed: 2),
            [TestLabels] = DataIdx.CyclicLabels(testCount, classes),
        });

    /// <summary>A known-dataset entry for these files (checksums of their content), with the given sources.</summary>
    public DatasetInfo Info(string name, IReadOnlyList<DatasetMirror> mirrors, NpmPackageSource? npm = null, int classCount = 3) =>
        new(name, classCount,
            Files.Select(f => new DatasetFile(f.Key, DataIdx.Sha256(f.Value), f.Value.Length)).ToArray(),
            mirrors, npm);
}
