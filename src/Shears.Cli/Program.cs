using Shears.Cli;
using Spectre.Console;

return await ShearsCli.RunAsync(args, AnsiConsole.Console, Console.Error);
