using System.Diagnostics.Metrics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using StatePersistence.Diagnostics;
using StatePersistence.FileStore;
using StatePersistence.FileStore.Operations;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Testing.Fixtures;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// An archive run cut short after its archive was durable and verified but before the tasks were deleted (a crash, a
/// kill, a failed commit) leaves the tasks live and in the archive. The next run (an operator's, or the retention
/// pass's) finishes it instead of writing a second archive of the same tasks. The state such a stop leaves is made
/// here exactly: the directory as it was before the run, plus the archive the run wrote.
/// </summary>
public sealed partial class InterruptedArchiveTests : IDisposable
{
    private readonly StateFixture _fixture = new();
    private readonly TempDirectory _copies = new();

    public void Dispose()
    {
        _fixture.Dispose();
        _copies.Dispose();
    }

    private DateTimeOffset Now => _fixture.Time.GetUtcNow();

    private string[] Archives() => Directory.GetFiles(_fixture.File("archive")).Order(StringComparer.Ordinal).ToArray();

    private async Task SeedAsync(CancellationToken ct)
    {
        await using StatePersistenceService service = await _fixture.OpenAsync();
        foreach (string id in new[] { "old1", "old2" })
        {
            await service.SaveTaskAsync(new AgentTask { Id = id, Status = TaskStatuses.Completed, CompletedAt = Now.AddDays(-10), Description = id }, ct);
        }

        await service.SaveSessionAsync(new SessionInfo { Id = "s1", Type = "interactive", Status = "ended", TaskId = "old1" }, ct);
        await service.AppendSessionLogAsync("s1", "what old1 printed\n", ct);
        using JsonDocument report = JsonDocument.Parse("""{"task_id":"old1","result":"done"}""");
        await service.SaveReportAsync("r1", report.RootElement, ct);
    }

    /// <summary>Runs an archive, then puts the directory back as it was before it, with the archive it wrote: the stop.</summary>
    private async Task<string> InterruptAfterTheArchiveIsDurableAsync(CancellationToken ct)
    {
        string before = Path.Combine(_copies.Path, "before");
        DirectoryCopy.Copy(_fixture.StatePath, before);
        string archive;
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            archive = (await TaskArchives.ArchiveAsync(service, Now.AddDays(-1), withLogs: true, ct)).Archive!;
        }

        string kept = Path.Combine(_copies.Path, Path.GetFileName(archive));
        File.Copy(archive, kept);
        Directory.Delete(_fixture.StatePath, recursive: true);
        DirectoryCopy.Copy(before, _fixture.StatePath);
        Directory.CreateDirectory(_fixture.File("archive"));
        File.Copy(kept, archive);
        return archive;
    }

    /// <summary>
    /// Runs an archive, then puts back the session logs and reports it removed after its delete commit, as they were
    /// before it: the stop of a run killed between that commit and the removals (the tasks gone, what they took along live).
    /// </summary>
    private async Task<string> InterruptAfterTheDeleteCommitAsync(CancellationToken ct)
    {
        string before = Path.Combine(_copies.Path, "before-delete");
        DirectoryCopy.Copy(_fixture.StatePath, before);
        string archive;
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            TaskArchiveResult run = await TaskArchives.ArchiveAsync(service, Now.AddDays(-1), withLogs: true, ct);
            Assert.Equal((1, 1), (run.Logs, run.Reports));
            archive = run.Archive!;
        }

        foreach (string folder in new[] { "logs", "reports" })
        {
            DirectoryCopy.Copy(Path.Combine(before, folder), _fixture.File(folder));
        }

        return archive;
    }

    [Fact]
    public async Task The_next_run_removes_the_logs_and_reports_a_run_killed_after_its_delete_commit_left_live()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await SeedAsync(ct);
        string archive = await InterruptAfterTheDeleteCommitAsync(ct);

        await using StatePersistenceService service = await _fixture.OpenAsync();
        Assert.Empty(await service.LoadTasksAsync(ct));
        Assert.Equal("what old1 printed\n", await service.ReadSessionLogAsync("s1", ct));
        Assert.NotNull(await service.LoadReportAsync("r1", ct));
        TaskArchiveResult result = await TaskArchives.ArchiveAsync(service, Now.AddDays(-1), withLogs: true, ct);

        Assert.False(result.NothingToArchive);
        Assert.Null(result.Archive);
        Assert.Empty(result.Tasks);
        Assert.Equal((1, 1), (result.Logs, result.Reports));
        Assert.Equal([archive], result.EarlierArchives);
        Assert.Empty(result.LeftLive);
        Assert.Null(await service.ReadSessionLogAsync("s1", ct));
        Assert.Null(await service.LoadReportAsync("r1", ct));
        Assert.Equal([archive], Archives());

        // Finished: the run after it has nothing left to do.
        Assert.True((await TaskArchives.ArchiveAsync(service, Now.AddDays(-1), withLogs: true, ct)).NothingToArchive);
    }

    [Fact]
    public async Task A_left_log_written_to_since_and_a_report_whose_id_was_used_again_stay_live_and_are_named()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await SeedAsync(ct);
        await InterruptAfterTheDeleteCommitAsync(ct);

        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.AppendSessionLogAsync("s1", "printed after the archive\n", ct);
        using JsonDocument other = JsonDocument.Parse("""{"task_id":"old1","result":"another report under the same id"}""");
        await service.SaveReportAsync("r1", other.RootElement, ct);
        TaskArchiveResult result = await TaskArchives.ArchiveAsync(service, Now.AddDays(-1), withLogs: true, ct);

        Assert.True(result.NothingToArchive);
        Assert.Equal(["report r1", "the log of session s1"], result.LeftLive);
        Assert.Equal("what old1 printed\nprinted after the archive\n", await service.ReadSessionLogAsync("s1", ct));
        Assert.Contains("another report", (await service.LoadReportAsync("r1", ct))!.Value.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_damaged_archive_of_a_run_killed_after_its_delete_commit_keeps_what_it_took_live_and_says_so()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await SeedAsync(ct);
        string archive = await InterruptAfterTheDeleteCommitAsync(ct);
        DamageEntry(archive, "tasks/old2.json");
        byte[] damaged = await File.ReadAllBytesAsync(archive, ct);

        await using StatePersistenceService service = await _fixture.OpenAsync();
        TaskArchiveResult result = await TaskArchives.ArchiveAsync(service, Now.AddDays(-1), withLogs: true, ct);

        // Nothing removed on its word...
        Assert.True(result.NothingToArchive);
        Assert.Empty(result.EarlierArchives);
        Assert.Equal("what old1 printed\n", await service.ReadSessionLogAsync("s1", ct));
        Assert.NotNull(await service.LoadReportAsync("r1", ct));
        Assert.Equal(damaged, await File.ReadAllBytesAsync(archive, ct));
        // ...but said: the archive, that it is damaged, and what was kept live for it.
        DamagedTaskArchive found = Assert.Single(result.DamagedArchives);
        Assert.Equal(archive, found.Archive);
        Assert.Contains($"The archive '{archive}' is damaged: its entry 'tasks/old2.json'", found.Problem, StringComparison.Ordinal);
        Assert.Equal(["report r1", "the log of session s1"], found.KeptLive);
    }

    [Fact]
    public async Task The_retention_pass_reports_a_damaged_archive_whose_leftovers_it_keeps_live_once_as_a_warning_counted_and_raised()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await SeedAsync(ct);
        string archive = await InterruptAfterTheDeleteCommitAsync(ct);
        DamageEntry(archive, "tasks/old2.json");

        var logs = new CapturedLogs();
        using ILoggerFactory loggers = LoggerFactory.Create(builder => builder.AddProvider(logs));
        await using ServiceProvider meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
        IMeterFactory factory = meters.GetRequiredService<IMeterFactory>();
        using var failures = new MetricCollector<long>(factory, StateMeter.Name, "statepersistence.save.failures");
        StatePersistenceOptions options = _fixture.Options(o =>
        {
            o.Retention.TaskArchiveAfter = TimeSpan.FromDays(1);
            o.Retention.TaskArchiveWithLogs = true;
            o.Retention.Interval = TimeSpan.Zero; // the test runs the passes
        });
        var errors = new List<StateSaveErrorEventArgs>();
        await using var service = new StatePersistenceService(options, new FileStateStore(options, PhysicalFileSystem.Instance, timeProvider: _fixture.Time),
            loggers, _fixture.Time, factory);
        service.StateSaveError += (_, e) => errors.Add(e);
        await service.StartAsync(ct);

        await service.RunRetentionOnceAsync(ct);
        await service.RunRetentionOnceAsync(ct); // the damage is still there: reported once, not at every pass

        StateSaveErrorEventArgs error = Assert.Single(errors);
        Assert.Equal("retention-archive", error.Operation);
        Assert.Equal(archive, error.Path);
        Assert.Contains($"The task archive '{archive}' is damaged", error.Error.Message, StringComparison.Ordinal);
        Assert.Contains("was kept live, not removed (report r1, the log of session s1). ", error.Error.Message, StringComparison.Ordinal);
        CapturedLogs.Entry warning = Assert.Single(logs.Entries, e => e.Message.Contains(archive, StringComparison.Ordinal));
        Assert.Contains("is damaged (it does not read back whole)", warning.Message, StringComparison.Ordinal);
        Assert.Contains("kept live, not removed (report r1, the log of session s1)", warning.Message, StringComparison.Ordinal);
        Assert.Contains("its entry 'tasks/old2.json'", warning.Message, StringComparison.Ordinal);
        Assert.Equal(["retention-archive"], failures.GetMeasurementSnapshot().Select(m => (string)m.Tags["kind"]!));
        Assert.Equal("what old1 printed\n", await service.ReadSessionLogAsync("s1", ct));
        Assert.NotNull(await service.LoadReportAsync("r1", ct));
    }

    /// <summary>Rewrites the archive with one byte of <paramref name="entry"/> flipped: its manifest still reads, the whole does not.</summary>
    private static void DamageEntry(string archive, string entry)
    {
        var entries = new List<(string Name, byte[] Content)>();
        using (var gzip = new GZipStream(File.OpenRead(archive), CompressionMode.Decompress))
        using (var tar = new TarReader(gzip))
        {
            while (tar.GetNextEntry() is { } read)
            {
                using var content = new MemoryStream();
                read.DataStream?.CopyTo(content);
                entries.Add((read.Name, content.ToArray()));
            }
        }

        Assert.Contains(entries, e => e.Name == entry);
        using var output = File.Create(archive);
        using var compressed = new GZipStream(output, CompressionLevel.Optimal);
        using var writer = new TarWriter(compressed, TarEntryFormat.Pax);
        foreach ((string name, byte[] content) in entries)
        {
            byte[] written = [.. content];
            if (name == entry)
            {
                written[written.Length / 2] ^= 0x01;
            }

            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(written) });
        }
    }

    [Fact]
    public async Task The_logs_and_reports_of_restored_tasks_are_not_taken_for_what_a_cut_short_run_left()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await SeedAsync(ct);
        string archive;
        await using (StatePersistenceService archiving = await _fixture.OpenAsync())
        {
            archive = (await TaskArchives.ArchiveAsync(archiving, Now.AddDays(-1), withLogs: true, ct)).Archive!;
            await TaskArchives.RestoreAsync(archiving, archive, ct);
        }

        await using StatePersistenceService service = await _fixture.OpenAsync();
        // Reused ids: a new task old2 would keep them too; here the restored tasks are live again, as old as before.
        TaskArchiveResult result = await TaskArchives.ArchiveAsync(service, Now.AddDays(-20), withLogs: true, ct);

        Assert.True(result.NothingToArchive);
        Assert.Empty(result.LeftLive);
        Assert.Equal("what old1 printed\n", await service.ReadSessionLogAsync("s1", ct));
        Assert.NotNull(await service.LoadReportAsync("r1", ct));
    }

    [Fact]
    public async Task The_next_run_finishes_an_interrupted_archive_instead_of_writing_its_tasks_again()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await SeedAsync(ct);
        string archive = await InterruptAfterTheArchiveIsDurableAsync(ct);

        await using StatePersistenceService service = await _fixture.OpenAsync();
        Assert.NotNull(await service.LoadTaskAsync("old1", ct));
        TaskArchiveResult result = await TaskArchives.ArchiveAsync(service, Now.AddDays(-1), withLogs: true, ct);

        Assert.Null(result.Archive);
        Assert.False(result.NothingToArchive);
        Assert.Equal([archive], result.EarlierArchives);
        Assert.Equal(["old1", "old2"], result.Tasks.Order(StringComparer.Ordinal));
        Assert.Equal((1, 1), (result.Logs, result.Reports));
        Assert.Equal([archive], Archives());
        Assert.Empty(await service.LoadTasksAsync(ct));
        Assert.Null(await service.ReadSessionLogAsync("s1", ct));
        Assert.Null(await service.LoadReportAsync("r1", ct));

        // The one archive holds them all, and brings them back.
        TaskRestoreResult restored = await TaskArchives.RestoreAsync(service, archive, ct);
        Assert.Equal(["old1", "old2"], restored.Tasks.Order(StringComparer.Ordinal));
        Assert.Equal("what old1 printed\n", await service.ReadSessionLogAsync("s1", ct));
    }

    [Fact]
    public async Task Finishing_an_interrupted_archive_keeps_a_log_written_to_since_live_and_names_it()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await SeedAsync(ct);
        string archive = await InterruptAfterTheArchiveIsDurableAsync(ct);

        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.AppendSessionLogAsync("s1", "printed after the archive\n", ct);
        TaskArchiveResult result = await TaskArchives.ArchiveAsync(service, Now.AddDays(-1), withLogs: true, ct);

        Assert.Equal([archive], result.EarlierArchives);
        Assert.Equal(["old1", "old2"], result.Tasks.Order(StringComparer.Ordinal));
        // The unchanged report goes; the log, not what the archive holds, stays whole and is named (it was kept unnamed).
        Assert.Equal((0, 1), (result.Logs, result.Reports));
        Assert.Equal(["the log of session s1"], result.LeftLive);
        Assert.Equal("what old1 printed\nprinted after the archive\n", await service.ReadSessionLogAsync("s1", ct));
        Assert.Null(await service.LoadReportAsync("r1", ct));
    }

    [Fact]
    public async Task A_task_changed_since_the_interrupted_archive_is_archived_anew_and_the_unchanged_one_is_not()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await SeedAsync(ct);
        string archive = await InterruptAfterTheArchiveIsDurableAsync(ct);

        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.SaveTaskAsync(new AgentTask { Id = "old2", Status = TaskStatuses.Completed, CompletedAt = Now.AddDays(-10), Description = "edited since" }, ct);
        TaskArchiveResult result = await TaskArchives.ArchiveAsync(service, Now.AddDays(-1), withLogs: true, ct);

        Assert.NotNull(result.Archive);
        Assert.Equal([archive], result.EarlierArchives);
        Assert.Equal(["old1", "old2"], result.Tasks.Order(StringComparer.Ordinal));
        Assert.Equal(new[] { archive, result.Archive! }.Order(StringComparer.Ordinal), Archives());
        Assert.Empty(await service.LoadTasksAsync(ct));

        // The new archive holds only what the earlier one did not: the edited task.
        TaskRestoreResult restored = await TaskArchives.RestoreAsync(service, result.Archive!, ct);
        Assert.Equal(["old2"], restored.Tasks);
        Assert.Equal("edited since", (await service.LoadTaskAsync("old2", ct))!.Description);
    }
}
