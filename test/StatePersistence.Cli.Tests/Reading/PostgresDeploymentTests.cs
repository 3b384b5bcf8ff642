using StatePersistence.Cli.Tests.Support;

namespace StatePersistence.Cli.Tests.Reading;

/// <summary>
/// statectl on a machine set up for PostgreSQL (<c>STATEPERSISTENCE_CONNECTION_STRING</c> set): it reads state
/// directories only, and the refusal of the missing one says so and what to use instead, never the variable's value.
/// Elsewhere the refusal is as before.
/// </summary>
public sealed class PostgresDeploymentTests
{
    private const string Secret = "Sup3rS3cret-not-shown";

    private static readonly Dictionary<string, string> Postgres = new()
    {
        ["STATEPERSISTENCE_CONNECTION_STRING"] = $"Host=db;Username=agent;Password={Secret};Database=agents",
    };

    [Theory]
    [InlineData("tasks", "list")]
    [InlineData("du")]
    [InlineData("verify")]
    public async Task ACommandOnAMissingDirectory_SaysStatectlReadsStateDirectoriesOnly(params string[] command)
    {
        string missing = Path.Combine(Path.GetTempPath(), "statectl-pg-" + Guid.NewGuid().ToString("N"));

        StatectlRun run = await StatectlRun.RunAsync([.. command, "--state-path", missing], environment: Postgres);
        StatectlRun plain = await StatectlRun.RunAsync([.. command, "--state-path", missing]);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains($"The state directory '{missing}' does not exist. This environment sets up the server for PostgreSQL", run.Error, StringComparison.Ordinal);
        Assert.Contains("statectl reads and writes state directories (the file store) only", run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, run.ToString(), StringComparison.Ordinal);
        Assert.Equal(1, plain.ExitCode);
        Assert.DoesNotContain("PostgreSQL", plain.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HealthOfAMissingDirectory_AddsTheHint()
    {
        string missing = Path.Combine(Path.GetTempPath(), "statectl-pg-" + Guid.NewGuid().ToString("N"));

        StatectlRun run = await StatectlRun.RunAsync(["health", "--state-path", missing], environment: Postgres);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("statectl reads and writes state directories (the file store) only", run.Output.ReplaceLineEndings(" "), StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, run.ToString(), StringComparison.Ordinal);
    }
}
