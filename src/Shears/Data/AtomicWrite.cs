namespace Shears.Data;

/// <summary>
/// Temp-then-rename writes for the cache: content goes to a hidden temporary file in the target's folder, which
/// is renamed over the target only when complete, so a reader never sees a partial file. (Data keeps its own
/// copy rather than use Shears' AtomicFile: the data layer depends on nothing else in Shears.)
/// </summary>
internal static class AtomicWrite
{
    /// <summary>A fresh temporary path in <paramref name="folder"/> for <paramref name="fileName"/>; the suffix marks it as never a finished file.</summary>
    public static string TempPathFor(string folder, string fileName) =>
        Path.Combine(folder, $".{fileName}.{Environment.ProcessId}.{Guid.NewGuid():N}.part");

    public static void WriteAllText(string path, string text)
    {
        string full = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(folder);
        string temp = TempPathFor(folder, Path.GetFileName(full));
        try
        {
            File.WriteAllText(temp, text);
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            TryDelete(temp);
        }
    }

    /// <summary>Deletes <paramref name="path"/> if it exists; a failure to delete is not an error worth raising.</summary>
    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    public static void TryDeleteDirectory(string path)
    {
        try
        {
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
