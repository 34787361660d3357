using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Shears.Data;

/// <summary>
/// Remembers which files have been checked against which SHA-256, so a folder is hashed once rather than on
/// every load (MNIST is 55 MB decompressed). One small text file per folder, under
/// <c>&lt;cache root&gt;/verified/</c> (so read-only data folders work too), with one line per file:
/// name, length, last-write time in UTC ticks, and the SHA-256 it matched. A file counts as verified only while
/// its name, length and time are unchanged and the expected SHA-256 is the same; anything else is hashed again.
/// Stamps are best effort: failing to read or write one only costs a re-hash.
/// </summary>
internal sealed class VerificationStamps
{
    private readonly string _root;

    public VerificationStamps(string cacheRoot) => _root = Path.Combine(cacheRoot, "verified");

    public bool IsVerified(string path, string sha256)
    {
        var info = new FileInfo(path);
        if (!info.Exists) return false;
        string line = Line(info, sha256);
        try
        {
            string stamp = StampPath(info.DirectoryName!);
            return File.Exists(stamp) && File.ReadLines(stamp).Skip(1).Contains(line, StringComparer.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    public void Record(string path, string sha256)
    {
        var info = new FileInfo(path);
        if (!info.Exists) return;
        string folder = info.DirectoryName!;
        string stamp = StampPath(folder);
        string prefix = info.Name + "\t";
        try
        {
            var lines = File.Exists(stamp)
                ? File.ReadLines(stamp).Skip(1).Where(l => !l.StartsWith(prefix, StringComparison.Ordinal)).ToList()
                : [];
            lines.Add(Line(info, sha256));
            var text = new StringBuilder().Append(folder).Append('\n');
            foreach (string l in lines) text.Append(l).Append('\n');
            AtomicFile.WriteAllText(stamp, text.ToString());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A stamp is only a shortcut; without it the next load hashes again.
        }
    }

    /// <summary>Forgets every stamp of <paramref name="path"/>'s file name (called when the file is deleted or replaced).</summary>
    public void Forget(string path)
    {
        string folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        string stamp = StampPath(folder);
        string prefix = Path.GetFileName(path) + "\t";
        try
        {
            if (!File.Exists(stamp)) return;
            var lines = File.ReadLines(stamp).ToList();
            if (!lines.Skip(1).Any(l => l.StartsWith(prefix, StringComparison.Ordinal))) return;
            var text = new StringBuilder();
            foreach (string l in lines.Take(1).Concat(lines.Skip(1).Where(l => !l.StartsWith(prefix, StringComparison.Ordinal))))
                text.Append(l).Append('\n');
            AtomicFile.WriteAllText(stamp, text.ToString());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private string StampPath(string folder)
    {
        string key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFullPath(folder))))[..32];
        return Path.Combine(_root, key + ".txt");
    }

    private static string Line(FileInfo info, string sha256) =>
        string.Join('\t', info.Name, info.Length.ToString(CultureInfo.InvariantCulture),
            info.LastWriteTimeUtc.Ticks.ToString(CultureInfo.InvariantCulture), sha256);
}
