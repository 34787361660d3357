namespace Shears.Data;

/// <summary>
/// Progress of fetching one dataset file: <see cref="BytesReceived"/> so far of <see cref="TotalBytes"/> (when the
/// source says), from <see cref="Source"/> (a URL, or the npm command). Reported as bytes arrive and once at 0
/// when a source is tried, so a bar can restart when the store moves on to the next source.
/// </summary>
public readonly record struct DownloadProgress(string FileName, string Source, long BytesReceived, long? TotalBytes);
