namespace Shears;

/// <summary>
/// Base of every error Shears raises on bad input. The message always names the file (when there is one)
/// and what is wrong with it, so the CLI can print it as is and exit non-zero.
/// </summary>
public class ShearsException : Exception
{
    public ShearsException(string message, string? path = null, Exception? inner = null)
        : base(path is null ? message : $"{path}: {message}", inner)
    {
        FilePath = path;
    }

    /// <summary>The file the problem is in, when there is one.</summary>
    public string? FilePath { get; }
}
