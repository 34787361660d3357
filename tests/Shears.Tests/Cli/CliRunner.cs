using Shears.Cli;
using Spectre.Console;

namespace Shears.Tests.Cli;

/// <summary>Runs the `shears` command in-process with captured output, as a user at a non-interactive terminal.</summary>
internal static class CliRunner
{
    public sealed record Run(int ExitCode, string Output, string Error);

    public static Run Invoke(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        console.Profile.Width = 200;
        int code = ShearsCli.RunAsync(args, console, error).GetAwaiter().GetResult();
        return new Run(code, output.ToString(), error.ToString());
    }
}
