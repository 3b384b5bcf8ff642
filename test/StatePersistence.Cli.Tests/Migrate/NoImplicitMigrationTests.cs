using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;
using StatePersistence.Testing.Fixtures;

namespace StatePersistence.Cli.Tests.Migrate;

/// <summary>
/// The commands that open a directory to change it never migrate it on the way: an older directory (the Node
/// implementation's, or one rolled back) is refused, untouched, naming the versions and 'statectl migrate apply'.
/// Before 2026-12-07 each ran the whole migration first, without a word (even 'tasks edit' of a task that is not there).
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class NoImplicitMigrationTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public NoImplicitMigrationTests() => Assert.SkipWhen(OperatingSystem.IsWindows(), "The fixture carries Unix permissions.");

    private string StatePath => _temp.Combine("state");

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("tasks", "edit", "task_1")]
    [InlineData("tasks", "edit", "nosuch")]
    [InlineData("archive", "--completed-before", "2030-01-01")]
    [InlineData("archive", "restore", "tasks.20240601T020000-0000000Z.tar.gz")]
    [InlineData("rebuild")]
    public async Task AWriterCommand_OnAnOlderDirectory_IsRefusedNamingTheVersionsAndMigrateApply_AndChangesNothing(params string[] command)
    {
        NodeStateDirectory.WriteTo(StatePath);

        StatectlRun run = await StatectlRun.RunAsync([.. command, "--state-path", StatePath, "--json"],
            environment: new Dictionary<string, string> { ["EDITOR"] = "true" });

        Assert.True(run.ExitCode == 1, run.ToString());
        string error = run.Json().GetProperty("error").GetString()!;
        Assert.Contains($"The state directory '{StatePath}' has format version 1.0.0; this build of statectl uses 2.1.0", error, StringComparison.Ordinal);
        Assert.Contains($"Run 'statectl migrate apply --state-path {StatePath}'", error, StringComparison.Ordinal);
        Assert.Contains("nothing was changed", error, StringComparison.Ordinal);
        Assert.Equal(NodeStateDirectory.Files, NodeStateDirectory.ReadAll(StatePath));
        Assert.False(Directory.Exists(Path.Combine(StatePath, "pre-migration")));
    }

    [Fact]
    public async Task AfterMigrateApply_TheWriterCommandsWork()
    {
        NodeStateDirectory.WriteTo(StatePath);
        Assert.Equal(0, (await StatectlRun.RunAsync("migrate", "apply", "--state-path", StatePath)).ExitCode);

        StatectlRun rebuild = await StatectlRun.RunAsync("rebuild", "--state-path", StatePath);

        Assert.True(rebuild.ExitCode == 0, rebuild.ToString());
    }
}
