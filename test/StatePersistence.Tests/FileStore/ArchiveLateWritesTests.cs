using System.Text;
using System.Text.Json;
using StatePersistence.FileStore.Operations;
using StatePersistence.FileStore.Operations.TaskArchive;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// An archive run with logs reads a task's session logs and reports, writes the archive and reads it back, deletes the
/// task, and only then removes the logs and reports it took. An append to one of those logs, or a report saved again,
/// acknowledged in between, is in neither the archive (which holds what the run read) nor, when the removal does not
/// look, the live store: it was lost. Each is made here at one exact moment, as the archive file is created.
/// </summary>
public sealed class ArchiveLateWritesTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private DateTimeOffset Now => _fixture.Time.GetUtcNow();

    [Fact]
    public async Task A_log_appended_to_and_a_report_saved_again_while_the_archive_is_written_stay_live_and_are_named_the_others_are_removed()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var fileSystem = new CreateHookFileSystem(PhysicalFileSystem.Instance);
        await using StatePersistenceService service = await _fixture.OpenAsync(fileSystem: fileSystem);
        await service.SaveTaskAsync(new AgentTask { Id = "old", Status = TaskStatuses.Completed, CompletedAt = Now.AddDays(-10) }, ct);
        foreach (string session in new[] { "s1", "s2" })
        {
            await service.SaveSessionAsync(new SessionInfo { Id = session, Type = "interactive", Status = "ended", TaskId = "old" }, ct);
        }

        await service.AppendSessionLogAsync("s1", "before the run\n", ct);
        await service.AppendSessionLogAsync("s2", "untouched\n", ct);
        await SaveReportAsync(service, "r1", """{"task_id":"old","v":1}""", ct);
        await SaveReportAsync(service, "r2", """{"task_id":"old","v":"untouched"}""", ct);

        string archives = _fixture.File("archive");
        fileSystem.ArmNextCreate(path => path.StartsWith(archives + Path.DirectorySeparatorChar, StringComparison.Ordinal), () =>
        {
            // Another writer, acknowledged while the run writes its archive (after it read the log and the report).
            service.AppendSessionLogAsync("s1", "during the run\n", ct).AsTask().GetAwaiter().GetResult();
            SaveReportAsync(service, "r1", """{"task_id":"old","v":2}""", ct).GetAwaiter().GetResult();
        });

        TaskArchiveResult result = await TaskArchives.ArchiveAsync(service, Now.AddDays(-1), withLogs: true, ct);

        Assert.True(fileSystem.Ran);
        Assert.Equal(["old"], result.Tasks);
        // Both late writes are live, whole; what the run read of them is in the archive; they are named as kept live.
        Assert.Equal("before the run\nduring the run\n", await service.ReadSessionLogAsync("s1", ct));
        Assert.Equal(2, (await service.LoadReportAsync("r1", ct))!.Value.GetProperty("v").GetInt32());
        Assert.Equal(["report r1", "the log of session s1"], result.LeftLive);
        (_, Dictionary<string, byte[]> entries) = TaskArchiveFile.Read(await File.ReadAllBytesAsync(result.Archive!, ct), result.Archive!);
        Assert.Equal("before the run\n", Encoding.UTF8.GetString(entries[TaskArchiveManifest.LogEntry("s1")]));
        Assert.Contains("\"v\":1", Encoding.UTF8.GetString(entries[TaskArchiveManifest.ReportEntry("r1")]), StringComparison.Ordinal);
        // What nothing wrote to meanwhile went into the archive and left the live store, as before.
        Assert.Equal((1, 1), (result.Logs, result.Reports));
        Assert.Null(await service.ReadSessionLogAsync("s2", ct));
        Assert.Null(await service.LoadReportAsync("r2", ct));

        // A later run does not take them for leftovers it may remove: they still differ from what the archive holds.
        TaskArchiveResult next = await TaskArchives.ArchiveAsync(service, Now.AddDays(-1), withLogs: true, ct);
        Assert.Equal(["report r1", "the log of session s1"], next.LeftLive);
        Assert.Equal("before the run\nduring the run\n", await service.ReadSessionLogAsync("s1", ct));
        Assert.NotNull(await service.LoadReportAsync("r1", ct));
    }

    private static async Task SaveReportAsync(StatePersistenceService service, string id, string json, CancellationToken ct)
    {
        using JsonDocument report = JsonDocument.Parse(json);
        await service.SaveReportAsync(id, report.RootElement, ct);
    }
}
