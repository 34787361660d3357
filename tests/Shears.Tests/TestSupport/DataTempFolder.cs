namespace Shears.Tests.TestSupport;

/// <summary>A fresh folder under the system temp folder, deleted on dispose.</summary>
internal sealed class DataTempFolder : IDisposable
{
    public DataTempFolder()
    {
        Path = Directory.CreateTempSubdirectory("shears-data-test-").FullName;
    }

    public string Path { get; }

    public string Sub(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    /// <summary>Creates and returns a subfolder.</summary>
    public string Folder(params string[] parts) => Directory.CreateDirectory(Sub(parts)).FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
