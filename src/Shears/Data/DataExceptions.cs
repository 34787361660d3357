namespace Shears.Data;

/// <summary>
/// A data file's content is not what it claims to be: wrong magic number, truncated or overlong content,
/// corrupt gzip, counts or shapes that disagree between files, a label outside the class range.
/// The message names the file and the problem.
/// </summary>
public sealed class DataFormatException : ShearsException
{
    public DataFormatException(string message, string path, Exception? inner = null)
        : base(message, path, inner)
    {
    }
}

/// <summary>
/// A file's decompressed content does not have the SHA-256 its dataset lists.
/// Both digests are lowercase hex.
/// </summary>
public sealed class ChecksumMismatchException : ShearsException
{
    public ChecksumMismatchException(string path, string expectedSha256, string actualSha256)
        : base($"checksum mismatch: expected SHA-256 {expectedSha256} of the decompressed content, actual {actualSha256}", path)
    {
        ExpectedSha256 = expectedSha256;
        ActualSha256 = actualSha256;
    }

    public string ExpectedSha256 { get; }

    public string ActualSha256 { get; }
}

/// <summary>
/// A dataset cannot be had: an unknown name, a folder that cannot be read, or every source (mirrors, npm)
/// failed. When sources were tried, <see cref="Failures"/> holds one line per source with its reason, and the
/// message lists them too.
/// </summary>
public class DatasetUnavailableException : ShearsException
{
    public DatasetUnavailableException(string message, string? path = null, IReadOnlyList<string>? failures = null, Exception? inner = null)
        : base(failures is { Count: > 0 } ? message + Environment.NewLine + string.Join(Environment.NewLine, failures.Select(f => "  - " + f)) : message, path, inner)
    {
        Failures = failures ?? [];
    }

    /// <summary>Each source tried and why it failed, as "source: reason".</summary>
    public IReadOnlyList<string> Failures { get; }
}

/// <summary>A folder that should hold a dataset's files lacks some of them; <see cref="MissingFiles"/> lists which.</summary>
public sealed class DatasetFilesMissingException : DatasetUnavailableException
{
    public DatasetFilesMissingException(string folder, IReadOnlyList<string> missingFiles, string? hint = null)
        : base(Describe(missingFiles, hint), folder)
    {
        MissingFiles = missingFiles;
    }

    public IReadOnlyList<string> MissingFiles { get; }

    private static string Describe(IReadOnlyList<string> missing, string? hint)
    {
        string text = $"missing {string.Join(", ", missing)} (each may be raw or gzipped as .gz)";
        return hint is null ? text : $"{text}; {hint}";
    }
}
