using System.Text.Json;
using StatePersistence.Cli.Tests.Support;

namespace StatePersistence.Cli.Tests.Usage;

/// <summary>
/// A connection string with a mistyped keyword whose value is empty (<c>Pasword=$PGPASS</c> with the variable unset) does
/// not parse: bad usage, exit 2, the one line every such string gets, never the string itself. Npgsql throws its
/// KeyNotFoundException for it, not the ArgumentException of every other bad string, and before 2026-12-07 each of the
/// sixteen commands that take <c>--store postgres</c> ended in "Unhandled exception" and a stack trace, exit 1, and
/// under <c>--json</c> no document. The parse fails before any connection, so no PostgreSQL is needed.
/// </summary>
public sealed class UnknownEmptyConnectionKeywordTests
{
    [Theory]
    [InlineData("tasks", "list")]
    [InlineData("verify")]
    [InlineData("health")]
    [InlineData("migrate", "apply")]
    [InlineData("export", "pg.tar.gz")]
    public async Task AConnectionStringWithAnUnknownEmptyKeyword_IsBadUsage_SayingItCannotBeParsed(params string[] command)
    {
        string directory = Directory.CreateTempSubdirectory("statectl-conn-").FullName;
        try
        {
            StatectlRun run = await StatectlRun.RunAsync([.. command, "--store", "postgres", "--json"], directory,
                new Dictionary<string, string> { ["STATEPERSISTENCE_CONNECTION_STRING"] = "Host=127.0.0.1;Username=agent;Pasword=;Database=hunter2db" });

            Assert.True(run.ExitCode == 2, run.ToString());
            Assert.Contains("The PostgreSQL connection string (--connection-string", run.Error, StringComparison.Ordinal);
            Assert.Contains("cannot be parsed", run.Error, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", run.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain("hunter2db", run.ToString(), StringComparison.Ordinal);
            JsonElement error = run.Json();
            Assert.Equal(2, error.GetProperty("exitCode").GetInt32());
            Assert.False(File.Exists(Path.Combine(directory, "pg.tar.gz")));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
