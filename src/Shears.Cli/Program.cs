using Shears.Cli;
using Spectre.Console;

var console = AnsiConsole.Console;
// Redirected output (logs, pipes) gets Spectre's 80-column default, which wraps the result tables; logs can be wide.
if (Console.IsOutputRedirected) console.Profile.Width = Math.Max(console.Profile.Width, 160);
return await ShearsCli.RunAsync(args, console, Console.Error);
