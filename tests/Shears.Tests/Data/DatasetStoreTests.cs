using Shears.Data;
using Shears.Tests.TestSupport;

namespace Shears.Tests.Data;

/// <summary>Where the store finds a dataset: explicit folder, then SHEARS_DATA_DIR, then the cache, then a download.</summary>
public sealed class DatasetStoreTests : IDisposable
{
    private readonly DataTempFolder _temp = new();
    private readonly DataLoopbackServer _server = new();
    private readonly DataFolderContent _content = DataFolderContent.Make();
    private readonly Dictionary<string, string?> _environment = new();

    public void Dispose()
    {
        _server.Dispose();
        _temp.Dispose();
    }

    private string CacheRoot => _temp.Sub("cache");

    private DatasetInfo Tiny => _content.Info("tiny", [new DatasetMirror(_server.BaseUrl + "tiny/")]);

    private DatasetStore Store() => new(new DatasetStoreOptions
    {
        CacheRoot = CacheRoot,
        GetEnvironmentVariable = name => _environment.GetValueOrDefault(name),
        Datasets = [Tiny],
        NpmCommand = null,
    });

    private void ServeGzipped()
    {
        foreach (var (name, bytes) in _content.Files)
            _server.Serve($"/tiny/{name}.gz", DataIdx.Gzip(bytes));
    }

    private string FolderWithFiles(string name, bool gzip = true)
    {
        string folder = _temp.Folder(name);
        foreach (var (file, bytes) in _content.Files)
            File.WriteAllBytes(Path.Combine(folder, gzip ? file + ".gz" : file), gzip ? DataIdx.Gzip(bytes) : bytes);
        return folder;
    }

    [Fact]
    public void An_explicit_data_dir_wins_over_the_environment_and_the_cache()
    {
        string explicitDir = FolderWithFiles("explicit");
        _environment[DatasetStore.DataDirVariable] = FolderWithFiles("from-env");
        FolderWithFiles(Path.Combine("cache", "tiny"));
        ServeGzipped();

        Assert.Equal(explicitDir, Store().Fetch("tiny", explicitDir));
        Assert.Empty(_server.Requests);
    }

    [Fact]
    public void The_environment_variable_is_used_when_no_data_dir_is_given()
    {
        string fromEnvironment = FolderWithFiles("from-env");
        _environment[DatasetStore.DataDirVariable] = fromEnvironment;
        FolderWithFiles(Path.Combine("cache", "tiny"));
        ServeGzipped();

        Assert.Equal(fromEnvironment, Store().Fetch("tiny", null));
        Assert.Empty(_server.Requests);
    }

    [Fact]
    public void The_cache_is_used_when_neither_a_data_dir_nor_the_environment_names_one()
    {
        string cached = FolderWithFiles(Path.Combine("cache", "tiny"), gzip: false);
        ServeGzipped();

        var store = Store();
        Assert.Equal(cached, store.Fetch("tiny", null));
        Assert.Equal(cached, store.CacheFolder("tiny"));
        Assert.Empty(_server.Requests);
    }

    [Fact]
    public void Nothing_found_locally_means_a_download_into_the_cache()
    {
        ServeGzipped();

        var store = Store();
        string folder = store.Fetch("TINY", null);

        Assert.Equal(Path.Combine(CacheRoot, "tiny"), folder);
        Assert.Equal(4, _server.Requests.Count);
        var splits = store.Load("tiny", null);
        Assert.Equal(12, splits.Train.Count);
        Assert.Equal("tiny/train", splits.Train.Name);
        Assert.Equal(4, _server.Requests.Count); // the second time the cache answers
    }

    [Fact]
    public void A_data_dir_may_hold_the_files_in_a_subfolder_named_after_the_dataset()
    {
        string root = _temp.Folder("datasets");
        string inner = FolderWithFiles(Path.Combine("datasets", "tiny"));

        Assert.Equal(inner, Store().Fetch("tiny", root));
        _environment[DatasetStore.DataDirVariable] = root;
        Assert.Equal(inner, Store().Fetch("tiny", null));
    }

    [Fact]
    public void A_data_dir_lacking_files_is_an_error_listing_them_not_a_download()
    {
        string dir = FolderWithFiles("partial");
        File.Delete(Path.Combine(dir, "t10k-labels-idx1-ubyte.gz"));
        ServeGzipped();

        var e = Assert.Throws<DatasetFilesMissingException>(() => Store().Fetch("tiny", dir));

        Assert.Equal(["t10k-labels-idx1-ubyte"], e.MissingFiles);
        Assert.Contains("--data-dir", e.Message);
        Assert.Empty(_server.Requests);
    }

    [Fact]
    public void An_environment_folder_lacking_files_is_an_error_naming_the_variable()
    {
        _environment[DatasetStore.DataDirVariable] = _temp.Folder("empty");
        var e = Assert.Throws<DatasetFilesMissingException>(() => Store().Fetch("tiny", null));
        Assert.Equal(4, e.MissingFiles.Count);
        Assert.Contains(DatasetStore.DataDirVariable, e.Message);
    }

    [Fact]
    public void A_data_dir_that_does_not_exist_is_a_typed_error()
    {
        var e = Assert.Throws<DatasetUnavailableException>(() => Store().Fetch("tiny", _temp.Sub("nowhere")));
        Assert.Contains("does not exist", e.Message);
    }

    [Fact]
    public void A_known_dataset_with_wrong_content_raises_checksum_mismatch_and_is_left_alone()
    {
        string dir = FolderWithFiles("tampered", gzip: false);
        string labels = Path.Combine(dir, "train-labels-idx1-ubyte");
        byte[] tampered = DataIdx.CyclicLabels(12, 2);
        File.WriteAllBytes(labels, tampered);

        var e = Assert.Throws<ChecksumMismatchException>(() => Store().Fetch("tiny", dir));

        Assert.Equal(labels, e.FilePath);
        Assert.Equal(DataIdx.Sha256(_content.Files["train-labels-idx1-ubyte"]), e.ExpectedSha256);
        Assert.Equal(DataIdx.Sha256(tampered), e.ActualSha256);
        Assert.Contains(e.ExpectedSha256, e.Message);
        Assert.Contains(e.ActualSha256, e.Message);
        Assert.True(File.Exists(labels));
    }

    [Fact]
    public void A_verified_file_that_changes_is_checked_again()
    {
        string dir = FolderWithFiles("changing", gzip: false);
        var store = Store();
        store.Fetch("tiny", dir);
        Assert.Equal(4, store.ContentHashCount);
        store.Fetch("tiny", dir);
        Assert.Equal(4, store.ContentHashCount);

        File.WriteAllBytes(Path.Combine(dir, "t10k-images-idx3-ubyte"), DataIdx.Images(5, 4, 3, seed: 99));
        Assert.Throws<ChecksumMismatchException>(() => store.Fetch("tiny", dir));
    }

    [Fact]
    public void A_corrupt_file_in_the_cache_is_deleted_and_fetched_again()
    {
        string cached = FolderWithFiles(Path.Combine("cache", "tiny"));
        File.WriteAllBytes(Path.Combine(cached, "train-images-idx3-ubyte.gz"), [0x1f, 0x8b, 1, 2, 3]);
        ServeGzipped();

        Store().Fetch("tiny", null);

        Assert.Equal(["/tiny/train-images-idx3-ubyte.gz"], _server.Requests);
        Assert.Equal(12, ImageClassificationFolder.Load(cached).Train.Count);
    }

    [Fact]
    public void An_unknown_name_that_is_a_folder_loads_as_a_generic_dataset()
    {
        string folder = _temp.Folder("fashion");
        File.WriteAllBytes(Path.Combine(folder, "train-images-idx3-ubyte"), DataIdx.Images(4, 2, 2));
        File.WriteAllBytes(Path.Combine(folder, "train-labels-idx1-ubyte"), DataIdx.Labels(0, 6, 2, 1));
        File.WriteAllBytes(Path.Combine(folder, "t10k-images-idx3-ubyte"), DataIdx.Images(2, 2, 2));
        File.WriteAllBytes(Path.Combine(folder, "t10k-labels-idx1-ubyte"), DataIdx.Labels(3, 0));

        var byPath = Store().Load(folder, null);
        Assert.Equal("fashion/train", byPath.Train.Name);
        Assert.Equal(7, byPath.Train.ClassCount);

        var byDataDir = Store().Load("my-set", folder);
        Assert.Equal("my-set/test", byDataDir.Test.Name);
        Assert.Equal(2, byDataDir.Test.Count);
        Assert.Equal(0, Store().ContentHashCount); // unknown datasets have no checksums to verify
    }

    [Fact]
    public void A_dataset_path_that_does_not_exist_says_so()
    {
        string path = _temp.Sub("no-such-set");
        var e = Assert.Throws<DatasetUnavailableException>(() => Store().Load(path, null));
        Assert.Equal(path, e.FilePath);
        Assert.Contains("does not exist", e.Message);
    }

    [Fact]
    public void An_unknown_name_is_looked_up_only_in_its_own_subfolder_of_the_environment_folder()
    {
        string root = FolderWithFiles("root"); // holds tiny's files itself, but they are not 'other'
        _environment[DatasetStore.DataDirVariable] = root;

        var e = Assert.Throws<DatasetUnavailableException>(() => Store().Fetch("other", null));
        Assert.Contains("unknown dataset 'other'", e.Message);
        Assert.Contains("tiny", e.Message);

        string inner = FolderWithFiles(Path.Combine("root", "other"));
        Assert.Equal(inner, Store().Fetch("other", null));
    }

    [Fact]
    public void The_default_cache_root_follows_XDG_CACHE_HOME_then_HOME()
    {
        string xdg = _temp.Sub("xdg");
        string home = _temp.Sub("home");
        var withXdg = new DatasetStore(new DatasetStoreOptions
        {
            GetEnvironmentVariable = n => n switch { "XDG_CACHE_HOME" => xdg, "HOME" => home, _ => null },
        });
        Assert.Equal(Path.Combine(xdg, "shears", "datasets"), withXdg.CacheRoot);
        Assert.Equal(Path.Combine(xdg, "shears", "datasets", "mnist"), withXdg.CacheFolder("MNIST"));

        if (!OperatingSystem.IsWindows())
        {
            var withHome = new DatasetStore(new DatasetStoreOptions { GetEnvironmentVariable = n => n == "HOME" ? home : null });
            Assert.Equal(Path.Combine(home, ".cache", "shears", "datasets"), withHome.CacheRoot);
        }
    }
}
