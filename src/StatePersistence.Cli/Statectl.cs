using System.CommandLine;
using System.Text.Json;
using StatePersistence.Cli.Commands.Archive;
using StatePersistence.Cli.Commands.Backups;
using StatePersistence.Cli.Commands.DiskUsage;
using StatePersistence.Cli.Commands.Health;
using StatePersistence.Cli.Commands.Rebuild;
using StatePersistence.Cli.Commands.Tasks;
using StatePersistence.Cli.Commands.Verify;
using StatePersistence.Cli.Commands.Watch;
using StatePersistence.Cli.Commands.Migrate;
using StatePersistence.Cli.Commands.Keys;
using StatePersistence.Cli.Infrastructure;

namespace StatePersistence.Cli;

/// <summary>
/// The command tree. Each command group lives in its own folder under <c>Commands/</c> and is added here; every
/// command shares <see cref="CommonOptions"/> (<c>--state-path</c>, <c>--json</c>) and the exit codes of
/// <see cref="ExitCodes"/>.
/// </summary>
internal static class Statectl
{
    public static RootCommand CreateRootCommand()
    {
        var root = new RootCommand("statectl: inspect, verify, repair, restore, migrate and archive a StatePersistence state directory.");
        root.Options.Add(CommonOptions.StatePath);
        root.Options.Add(CommonOptions.Json);
        root.Subcommands.Add(DuCommand.Create());
        root.Subcommands.Add(HealthCommand.Create());
        root.Subcommands.Add(TasksCommand.Create());
        root.Subcommands.Add(VerifyCommand.Create());
        root.Subcommands.Add(ExportImportCommands.CreateExport());
        root.Subcommands.Add(ExportImportCommands.CreateImport());
        root.Subcommands.Add(WatchCommand.Create());
        root.Subcommands.Add(MigrateCommand.Create());
        root.Subcommands.Add(KeysCommand.Create());
        root.Subcommands.Add(BackupsCommand.Create());
        root.Subcommands.Add(RebuildCommand.Create());
        root.Subcommands.Add(ArchiveCommand.Create());
        return root;
    }

    /// <summary>
    /// The bad-usage messages, one a line. For a mistyped command (<c>statectl bogus</c>, <c>statectl tasks lst</c>)
    /// System.CommandLine says "Required command was not provided" before naming the word, which reads as if no
    /// command had been given: such a line is replaced by one naming the word and the commands there are (and a group
    /// given no command at all, <c>statectl tasks</c>, by the commands it has).
    /// </summary>
    private static IEnumerable<string> Reported(ParseResult parsed)
    {
        Command command = parsed.CommandResult.Command;
        // A command with commands of its own and an action (archive: archive --completed-before, archive list) reads a
        // word it does not match as a mistyped command too: "Unrecognized command or argument" named neither.
        bool mistypedCommand = parsed.UnmatchedTokens.Count > 0 && !parsed.UnmatchedTokens[0].StartsWith('-');
        if (command.Subcommands.Count > 0 && (command.Action is null || mistypedCommand))
        {
            string path = command is RootCommand ? "statectl" : "statectl " + command.Name;
            string commands = string.Join(", ", command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name));
            return parsed.UnmatchedTokens.Count > 0
                ? [$"'{parsed.UnmatchedTokens[0]}' is not a command of '{path}'; its commands: {commands}."]
                : [$"'{path}' needs a command: {commands}."];
        }

        return parsed.Errors.Select(e => e.Message);
    }

    /// <summary>The line after every bad-usage message (exit 2).</summary>
    public const string UsageHint = "Run 'statectl --help' for usage.";

    public static async Task<int> RunAsync(string[] args)
    {
        ParseResult parsed = CreateRootCommand().Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // Bad usage is exit code 2 (System.CommandLine's own handler would answer 1, which scripts read as "problems found").
            foreach (string message in Reported(parsed))
            {
                await Console.Error.WriteLineAsync("statectl: " + message).ConfigureAwait(false);
            }

            await Console.Error.WriteLineAsync(UsageHint).ConfigureAwait(false);
            if (AskedForJson(parsed))
            {
                // A script that passed --json reads standard output, also when the command line itself is wrong.
                string message = string.Join(" ", Reported(parsed));
                await Console.Out.WriteLineAsync(CliJson.Serialize(new CommandError(message, ExitCodes.Usage), CliJsonContext.Default.CommandError)).ConfigureAwait(false);
            }

            return ExitCodes.Usage;
        }

        // Signals are handled by Interruption, not by System.CommandLine, whose handler ends the process two seconds
        // after Ctrl-C whatever the command is doing: in the middle of an archive or a restore that leaves it half-done.
        using Interruption interruption = Interruption.Register(Console.Error);
        return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }).ConfigureAwait(false);
    }

    /// <summary>Whether <c>--json</c> was given on a command line that did not parse: as the option, or among the words the parser could not match.</summary>
    private static bool AskedForJson(ParseResult parsed) =>
        parsed.GetValue(CommonOptions.Json) || parsed.UnmatchedTokens.Contains("--json", StringComparer.Ordinal);
}
