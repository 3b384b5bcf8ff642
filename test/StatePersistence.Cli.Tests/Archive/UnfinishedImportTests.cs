using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.FileStore;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Archive;

/// <summary>
/// A directory whose import did not finish (<c>import-in-progress.json</c> still there) is part of an archive, not a
/// state: the store refuses to open it, and so must every command that would present it as one.
/// </summary>
public sealed class UnfinishedImportTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string Restored => _temp.Combine("restored");

    private string ArchivePath => _temp.Combine("export.tar.gz");

    /// <summary>
    /// The most convincing unfinished import: every file written, the crash just before the marker's removal (a crash
    /// point <c>ImportCrashTests</c> covers). Everything looks like a state; only the marker says otherwise.
    /// </summary>
    private async Task<string> UnfinishedImportAsync()
    {
        string source = _temp.Combine("source");
        await using (StatePersistenceService writer = await FileStatePersistence.OpenAsync(new StatePersistenceOptions { StatePath = source }, cancellationToken: Http.Ct))
        {
            await writer.SaveTaskAsync(new Model.AgentTask { Id = "task_1", Description = "imported", Status = "pending" }, Http.Ct);
        }

        Assert.Equal(0, (await StatectlRun.RunAsync("export", ArchivePath, "--state-path", source)).ExitCode);
        Assert.Equal(0, (await StatectlRun.RunAsync("import", ArchivePath, "--state-path", Restored)).ExitCode);
        string marker = Path.Combine(Restored, "import-in-progress.json");
        await File.WriteAllTextAsync(marker, JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["archive"] = ArchivePath, ["archive_bytes"] = new FileInfo(ArchivePath).Length, ["archive_sha256"] = "0", ["started_at"] = DateTimeOffset.UtcNow,
        }), Http.Ct);
        return marker;
    }

    [Fact]
    public async Task HealthIsUnhealthy_TasksAndExportRefuse_MigrateStatusSaysSo_NamingTheArchive_AndNothingChanges()
    {
        await UnfinishedImportAsync();
        var before = DirectoryContents.Read(Restored);

        StatectlRun health = await StatectlRun.RunAsync("health", "--state-path", Restored, "--json");
        Assert.True(health.ExitCode == 1, health.ToString());
        Assert.Equal("Unhealthy", health.Json().GetProperty("status").GetString());
        Assert.Contains(health.Json().GetProperty("reasons").EnumerateArray(), r => r.GetString()!.Contains($"the archive '{ArchivePath}'", StringComparison.Ordinal));

        string exported = _temp.Combine("partial.tar.gz");
        foreach (string[] command in new string[][] { ["tasks", "list"], ["tasks", "show", "task_1"], ["export", exported] })
        {
            StatectlRun run = await StatectlRun.RunAsync([.. command, "--state-path", Restored]);
            Assert.True(run.ExitCode == 1, string.Join(' ', command) + ": " + run);
            Assert.Contains("did not finish", run.Error, StringComparison.Ordinal);
            Assert.Contains($"'statectl import {ArchivePath} --state-path {Restored}' again", run.Error, StringComparison.Ordinal);
        }

        Assert.False(File.Exists(exported));
        StatectlRun status = await StatectlRun.RunAsync("migrate", "status", "--state-path", Restored, "--json");
        // Exit 1, as every command that opens it (before 2026-12-06 exit 0), saying what to run.
        Assert.True(status.ExitCode == 1, status.ToString());
        Assert.Contains($"'statectl import {ArchivePath} --state-path {Restored}' again", status.Error, StringComparison.Ordinal);
        Assert.Contains(ArchivePath, status.Json().GetProperty("unfinishedImport").GetString(), StringComparison.Ordinal);
        Assert.Contains("unfinished import", (await StatectlRun.RunAsync("migrate", "status", "--state-path", Restored)).Output, StringComparison.Ordinal);
        DirectoryContents.AssertUnchanged(before, Restored);
    }
}
