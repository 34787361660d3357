using System.CommandLine;
using Shears.Cli.Commands;
using Spectre.Console;

namespace Shears.Cli;

/// <summary>
/// The `shears` command: parse, then invoke, returning an exit code. Output goes to the given console and
/// error writer so tests can read both. Commands are thin: they parse options, call the library, and show
/// progress and results. Bad input surfaces as one line naming the file and the problem (exit 1); the stack
/// trace only with --verbose.
/// </summary>
public static class ShearsCli
{
    public const int ExitBadInput = 1;
    public const int ExitUsage = 2;
    public const int ExitInterrupted = 130;

    public static async Task<int> RunAsync(string[] args, IAnsiConsole console, TextWriter error, CancellationToken cancellation = default)
    {
        var context = new CliContext(console, error);
        var root = new RootCommand("Shears: prune neural networks while keeping accuracy inside the range you set.");
        root.Options.Add(CliContext.VerboseOption);
        root.Subcommands.Add(DataCommand.Create(context));
        root.Subcommands.Add(TrainCommand.Create(context));
        root.Subcommands.Add(EvalCommand.Create(context));
        root.Subcommands.Add(PruneCommand.Create(context));
        root.Subcommands.Add(ConvertCommand.Create(context));
        root.Subcommands.Add(ReproduceCommand.Create(context));

        var parse = root.Parse(args);
        var config = new InvocationConfiguration
        {
            Output = new ConsoleWriter(console),
            Error = error,
            EnableDefaultExceptionHandler = false,
        };
        try
        {
            return await parse.InvokeAsync(config, cancellation);
        }
        catch (Exception e)
        {
            return context.Fail(e, parse.GetValue(CliContext.VerboseOption));
        }
    }

    /// <summary>Routes System.CommandLine's help and parse output to the Spectre console.</summary>
    private sealed class ConsoleWriter(IAnsiConsole console) : TextWriter
    {
        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;
        public override void Write(char value) => console.Profile.Out.Writer.Write(value);
        public override void Write(string? value) => console.Profile.Out.Writer.Write(value);
        public override void WriteLine(string? value) => console.Profile.Out.Writer.WriteLine(value);
    }
}
