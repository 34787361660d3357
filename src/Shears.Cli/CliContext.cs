using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using Shears.Data;
using Spectre.Console;

namespace Shears.Cli;

/// <summary>What every command shares: the console, the error writer, common options, and the one error policy.</summary>
public sealed class CliContext(IAnsiConsole console, TextWriter error)
{
    public IAnsiConsole Console { get; } = console;
    public TextWriter Error { get; } = error;

    public static readonly Option<bool> VerboseOption = new("--verbose", "-v")
    {
        Description = "Show stack traces on errors.",
        Recursive = true,
    };

    public static Option<string?> DataDirOption() => new("--data-dir")
    {
        Description = "Folder with the dataset's IDX files (else $SHEARS_DATA_DIR, else the user cache, else download).",
    };

    public static Option<string> DatasetOption() => new("--dataset")
    {
        Description = "Known dataset name (mnist), or any folder holding train/t10k IDX files.",
        DefaultValueFactory = _ => "mnist",
    };

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static void WriteJson<T>(string path, T value) =>
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(value, Json) + "\n");

    /// <summary>Loads a dataset, showing a download bar when one is needed.</summary>
    public DatasetSplits LoadDataset(string name, string? dataDir, CancellationToken cancellation)
    {
        DatasetSplits? splits = null;
        Progress.Run(Console, $"dataset {Markup.Escape(name)}", (report) =>
        {
            var progress = new Progress<DownloadProgress>(p => report(p.BytesReceived, p.TotalBytes, $"{p.FileName} ← {p.Source}"));
            splits = DatasetStore.Default.Load(name, dataDir, progress, cancellation);
        });
        return splits!;
    }

    public int Fail(Exception e, bool verbose)
    {
        switch (e)
        {
            case OperationCanceledException:
                Error.WriteLine("Interrupted. Checkpoints written so far are kept; rerun with --resume to continue.");
                return ShearsCli.ExitInterrupted;
            case ShearsException:
                Error.WriteLine($"error: {e.Message}");
                break;
            case ArgumentException or InvalidOperationException or IOException or UnauthorizedAccessException:
                Error.WriteLine($"error: {e.Message}");
                break;
            default:
                Error.WriteLine($"internal error ({e.GetType().Name}): {e.Message}");
                break;
        }
        if (verbose) Error.WriteLine(e.ToString());
        return e is ShearsException or IOException or UnauthorizedAccessException ? ShearsCli.ExitBadInput : ShearsCli.ExitUsage;
    }
}
