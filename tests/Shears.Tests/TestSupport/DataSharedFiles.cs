namespace Shears.Tests.TestSupport;

/// <summary>
/// Finds the shared MNIST files (<c>shared/data/mnist</c>, a sibling of the repository root) by walking up from
/// the test assembly's folder, checking at each level for <c>shared/data/mnist</c> and <c>data/mnist</c> that
/// hold a <c>SHA256SUMS</c>; failing that, the folder in <c>SHEARS_DATA_DIR</c> (itself or its <c>mnist</c> subfolder),
/// for a checkout that does not sit beside <c>shared/</c>.
/// </summary>
internal static class DataSharedFiles
{
    private static readonly Lazy<string> s_mnist = new(LocateMnist);

    public static string MnistFolder => s_mnist.Value;

    private static string LocateMnist()
    {
        var tried = new List<string>();
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            foreach (string candidate in new[] { Path.Combine(dir.FullName, "shared", "data", "mnist"), Path.Combine(dir.FullName, "data", "mnist") })
            {
                tried.Add(candidate);
                if (File.Exists(Path.Combine(candidate, "SHA256SUMS")))
                    return candidate;
            }
        }
        if (Environment.GetEnvironmentVariable("SHEARS_DATA_DIR") is { Length: > 0 } fromEnvironment)
        {
            foreach (string candidate in new[] { fromEnvironment, Path.Combine(fromEnvironment, "mnist") })
            {
                tried.Add(candidate);
                if (File.Exists(Path.Combine(candidate, "SHA256SUMS")))
                    return Path.GetFullPath(candidate);
            }
        }
        throw new InvalidOperationException(
            "The shared MNIST files were not found; looked for a folder holding SHA256SUMS at: " + string.Join(", ", tried));
    }
}
