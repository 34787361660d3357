using System.Formats.Tar;
using System.IO.Compression;

namespace Shears.Tests.TestSupport;

/// <summary>
/// A stand-in for the npm client: a shell script that records its arguments and working folder, then either
/// drops a prepared tarball into the working folder (as <c>npm pack</c> does) or fails like npm does.
/// </summary>
internal static class DataFakeNpm
{
    /// <summary>A gzipped tar holding <paramref name="entries"/> (name inside the archive → content).</summary>
    public static byte[] Tarball(IEnumerable<KeyValuePair<string, byte[]>> entries)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: true))
        {
            tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "package/data/"));
            foreach (var (name, bytes) in entries)
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(bytes) });
        }
        return output.ToArray();
    }

    /// <summary>Writes an executable script in <paramref name="folder"/> that hands out <paramref name="tarball"/> as <c>pkg-1.0.0.tgz</c>.</summary>
    public static string Succeeding(string folder, byte[] tarball)
    {
        string tgz = Path.Combine(folder, "prepared.tgz");
        File.WriteAllBytes(tgz, tarball);
        return Write(folder, $"""
            #!/bin/sh
            printf '%s\n' "$@" > '{folder}/npm-args.txt'
            pwd > '{folder}/npm-cwd.txt'
            cp '{tgz}' ./pkg-1.0.0.tgz
            echo pkg-1.0.0.tgz
            """);
    }

    /// <summary>Writes an executable script in <paramref name="folder"/> that fails as npm does when the registry has no such package.</summary>
    public static string Failing(string folder) => Write(folder, """
        #!/bin/sh
        echo "npm error code E404" >&2
        echo "npm error 404 Not Found - no such package" >&2
        exit 1
        """);

    public static string ArgumentsSeen(string folder) => File.ReadAllText(Path.Combine(folder, "npm-args.txt"));

    public static string WorkingFolderSeen(string folder) => File.ReadAllText(Path.Combine(folder, "npm-cwd.txt")).Trim();

    private static string Write(string folder, string script)
    {
        string path = Path.Combine(folder, "npm");
        File.WriteAllText(path, script.ReplaceLineEndings("\n") + "\n");
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
        return path;
    }
}
