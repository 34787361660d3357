using System.CommandLine;
using Shears.Data;
using Spectre.Console;

namespace Shears.Cli.Commands;

/// <summary>`shears data fetch NAME`: makes a dataset present and verified, downloading it when missing.</summary>
internal static class DataCommand
{
    public static Command Create(CliContext context)
    {
        var name = new Argument<string>("name") { Description = "Dataset to fetch (mnist)." };
        var dataDir = CliContext.DataDirOption();
        var fetch = new Command("fetch", "Fetch and verify a dataset (explicit folder, $SHEARS_DATA_DIR, user cache, then download).") { name, dataDir };
        fetch.SetAction((parse, cancellation) =>
        {
            string? folder = null;
            Progress.Run(context.Console, $"fetch {Markup.Escape(parse.GetValue(name)!)}", report =>
            {
                var progress = new Progress<DownloadProgress>(p => report(p.BytesReceived, p.TotalBytes, $"{p.FileName} ← {p.Source}"));
                folder = DatasetStore.Default.Fetch(parse.GetValue(name)!, parse.GetValue(dataDir), progress, cancellation);
            });
            context.Console.MarkupLine($"{Markup.Escape(parse.GetValue(name)!)} ready in [bold]{Markup.Escape(folder!)}[/]");
            return Task.FromResult(0);
        });
        return new Command("data", "Manage datasets.") { fetch };
    }
}
