using System.Text.Json;
using StatePersistence.Cli.Tests.Support;

namespace StatePersistence.Cli.Tests.Usage;

/// <summary>A command line that does not parse is exit code 2; with <c>--json</c> it still prints <c>{ "error", "exitCode" }</c>.</summary>
public sealed class UsageErrorTests
{
    [Theory]
    [InlineData("--bogus", "du", "--json", "--bogus")]
    [InlineData("ID", "tasks", "show", "--json")]
    [InlineData("bogus", "bogus", "--json")]
    [InlineData("--low-disk-space-bytes", "health", "--json", "--low-disk-space-bytes", "-5")]
    // These ended in an unhandled exception with a stack trace (exit 134 for the first two; exit 1 and no JSON for the empty paths).
    [InlineData("--low-disk-space-bytes 'abc' is not a whole number of bytes", "health", "--json", "--low-disk-space-bytes", "abc")]
    [InlineData("--low-disk-space-bytes '99999999999999999999' is not a whole number", "health", "--json", "--low-disk-space-bytes", "99999999999999999999")]
    [InlineData("FILE.tar.gz is empty", "import", "--json", "")]
    [InlineData("FILE.tar.gz is empty", "export", "--json", "")]
    [InlineData("ARCHIVE is empty", "archive", "restore", "--json", "")]
    [InlineData("FILE is empty", "keys", "create", "--json", "")]
    [InlineData("KEY is empty", "keys", "retire", "--json", "", "--key-file", "keys.json")]
    [InlineData("NAME is empty", "backups", "restore", "--json", "")]
    // An empty --key-file meant "no key given" (the environment's, else none), silently.
    [InlineData("--key-file is empty", "verify", "--json", "--key-file", "")]
    [InlineData("--key-file is empty", "keys", "list", "--json", "--key-file", "")]
    // An empty --schema meant the default schema (--schema "$SCHEMA" with the variable unset archived, edited or upgraded
    // 'statepersistence'), an empty --connection-string the environment's, an empty --store the file store: before 2026-12-07.
    [InlineData("--schema is empty", "archive", "--json", "--completed-before", "2024-05-01", "--store", "postgres", "--schema", "")]
    [InlineData("--schema is empty", "du", "--json", "--store", "postgres", "--connection-string", "Host=db.invalid", "--schema", "")]
    [InlineData("--connection-string is empty", "tasks", "list", "--json", "--store", "postgres", "--connection-string", "")]
    [InlineData("--store is empty", "verify", "--json", "--store", "")]
    public async Task ACommandLineThatDoesNotParse_UnderJson_PrintsTheErrorAsJson_WithExitCode2(string named, params string[] args)
    {
        StatectlRun run = await StatectlRun.RunAsync(args);

        Assert.True(run.ExitCode == 2, run.ToString());
        JsonElement error = run.Json();
        Assert.Contains(named, error.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(2, error.GetProperty("exitCode").GetInt32());
        Assert.Contains(named, run.Error, StringComparison.Ordinal);
    }

    /// <summary>
    /// A mistyped command is one line naming the word and the commands there are; System.CommandLine's "Required
    /// command was not provided" before it read as if no command had been given. A group given no command lists its commands.
    /// </summary>
    [Theory]
    [InlineData("'bogus' is not a command of 'statectl'; its commands: du, health, tasks,", "bogus")]
    [InlineData("'lst' is not a command of 'statectl tasks'; its commands: list, show, edit.", "tasks", "lst")]
    [InlineData("'statectl tasks' needs a command: list, show, edit.", "tasks")]
    [InlineData("'statectl' needs a command: du, health, tasks,")]
    // archive is a command with commands of its own: before 2026-12-07 "Unrecognized command or argument 'lst'" (one line
    // per word), and with no word a line naming 'restore' only.
    [InlineData("'lst' is not a command of 'statectl archive'; its commands: restore, list.", "archive", "lst")]
    [InlineData("'restor' is not a command of 'statectl archive'; its commands: restore, list.", "archive", "restor", "x.tar.gz")]
    [InlineData("archive needs --completed-before DATE, or one of its commands: restore, list.", "archive")]
    public async Task AMistypedOrMissingCommand_IsOneLineNamingTheCommandsThereAre(string line, params string[] args)
    {
        StatectlRun run = await StatectlRun.RunAsync(args);

        Assert.True(run.ExitCode == 2, run.ToString());
        string[] lines = run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("statectl: " + line, lines[0], StringComparison.Ordinal);
        Assert.Equal("Run 'statectl --help' for usage.", lines[1]);
        Assert.DoesNotContain("Required command", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACommandLineThatDoesNotParse_WithoutJson_PrintsNothingOnStandardOutput()
    {
        StatectlRun run = await StatectlRun.RunAsync("du", "--bogus");

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Equal("", run.Output);
        Assert.Contains("--bogus", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HealthHelp_NamesTheThresholdN_AsTheReadmeDoes()
    {
        StatectlRun run = await StatectlRun.RunAsync("health", "--help");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("--low-disk-space-bytes <N>", run.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Host=db.internal;Port=5432;Username=agent;Password=s3cret-pw;Database=state")]
    [InlineData("postgresql://agent:s3cret-pw@db.internal/state")]
    public async Task AConnectionStringAsStatePath_IsBadUsageSayingSo_WithoutShowingThePassword(string connectionString)
    {
        StatectlRun run = await StatectlRun.RunAsync("verify", "--state-path", connectionString, "--json");

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains("PostgreSQL connection string", run.Error, StringComparison.Ordinal);
        Assert.Equal(2, run.Json().GetProperty("exitCode").GetInt32());
        Assert.DoesNotContain("s3cret-pw", run.Output + run.Error, StringComparison.Ordinal);
    }
}
