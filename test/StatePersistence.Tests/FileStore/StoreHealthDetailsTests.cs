using System.Text.Json;
using StatePersistence.Model;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// The file store's own health figures (<c>StoreHealth.Details</c>, surfaced as <see cref="StateHealth.StoreDetails"/>):
/// named by the store, file counts and bytes by kind, checked against the state directory itself.
/// </summary>
public sealed class StoreHealthDetailsTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task StoreDetails_CountFilesAndBytesByKind_AsTheDirectoryHoldsThem()
    {
        await using StatePersistenceService service = await _fixture.OpenAsync(MeasureAtEveryCheck);
        await service.SaveTaskAsync(StateFixture.Task("t1"), Ct);
        await service.SaveTaskAsync(StateFixture.Task("t2"), Ct);
        await service.SaveSessionAsync(new SessionInfo { Id = "s1", Type = "interactive", Status = "active" }, Ct);
        await service.AppendSessionLogAsync("s1", "hello\n", Ct);
        await service.SaveReportAsync("r1", JsonDocument.Parse("""{"ok":true}""").RootElement.Clone(), Ct);
        await service.SaveSnapshotAsync(Ct);
        await service.SaveTaskAsync(StateFixture.Task("t3"), Ct);
        await service.SaveSnapshotAsync(Ct);

        IReadOnlyDictionary<string, long> details = service.CheckHealth().StoreDetails;

        Assert.Equal(
            ["bytes_archive", "bytes_backups", "bytes_journal", "bytes_logs", "bytes_reports", "bytes_sessions", "bytes_snapshot", "bytes_tasks",
             "checkpoint_descriptor_shortages", "files_archive", "files_backups", "files_journal", "files_logs", "files_reports", "files_sessions", "files_tasks", "reencryption_files_remaining",
             "unreadable_files"],
            details.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(0, details["reencryption_files_remaining"]); // in the clear: nothing to re-encrypt
        Assert.Equal(0, details["checkpoint_descriptor_shortages"]); // every checkpoint had the descriptors for full batches
        Assert.Equal(0, details["unreadable_files"]);
        Assert.Equal(3, details["files_tasks"]);
        Assert.Equal(1, details["files_sessions"]);
        Assert.Equal(1, details["files_logs"]);
        Assert.Equal(1, details["files_reports"]);
        Assert.Equal(Backups().Length, details["files_backups"]);
        Assert.Equal(new FileInfo(_fixture.File("state.json")).Length, details["bytes_snapshot"]);
        Assert.Equal(Backups().Sum(f => f.Length), details["bytes_backups"]);
        Assert.Equal(DirectoryBytes("tasks"), details["bytes_tasks"]);
        Assert.Equal(DirectoryBytes("sessions"), details["bytes_sessions"]);
        Assert.Equal(DirectoryBytes("logs"), details["bytes_logs"]);
        Assert.Equal(DirectoryBytes("reports"), details["bytes_reports"]);
        Assert.Equal(DirectoryBytes("journal"), details["bytes_journal"]);
        Assert.True(details["bytes_tasks"] > 0);
    }

    [Fact]
    public async Task BytesOnDisk_CountsLogsWithTheirRotatedParts_ReportsAndTheArchive()
    {
        StatePersistenceOptions options = _fixture.Options(o => { o.Retention.SessionLogMaxBytes = 40; o.Retention.Interval = TimeSpan.Zero; MeasureAtEveryCheck(o); });
        await using var store = new StatePersistence.FileStore.FileStateStore(options, StatePersistence.FileSystem.PhysicalFileSystem.Instance, timeProvider: _fixture.Time);
        await using var service = new StatePersistenceService(options, store, timeProvider: _fixture.Time);
        await service.StartAsync(Ct);
        await service.AppendSessionLogAsync("s1", "a line of the log that passes the cap\n", Ct);
        await service.RunRetentionOnceAsync(Ct);
        await service.AppendSessionLogAsync("s1", "the next line\n", Ct);
        await service.SaveReportAsync("r1", JsonDocument.Parse("""{"ok":true}""").RootElement.Clone(), Ct);
        await service.SaveSnapshotAsync(Ct);
        Directory.CreateDirectory(_fixture.File("archive"));
        await File.WriteAllBytesAsync(_fixture.File("archive", "tasks-20240101T100000-0000000Z.tar.gz"), new byte[1000], Ct);

        StatePersistence.Storage.StoreHealth health = store.CheckHealth();

        Assert.True(File.Exists(_fixture.File("logs", "session_s1.log.1")));
        Assert.Equal(2, health.Details["files_logs"]);
        Assert.Equal(DirectoryBytes("logs"), health.Details["bytes_logs"]);
        Assert.Equal(1, health.Details["files_archive"]);
        Assert.Equal(1000, health.Details["bytes_archive"]);
        Assert.Equal(new FileInfo(_fixture.File("state.json")).Length + Backups().Sum(f => f.Length) + DirectoryBytes("journal")
            + DirectoryBytes("logs") + DirectoryBytes("reports") + DirectoryBytes("archive"), health.BytesOnDisk);
    }

    [Fact]
    public async Task BackupCount_IsTheStoresBackupFileCount()
    {
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.SaveTaskAsync(StateFixture.Task("t1"), Ct);
        await service.SaveSnapshotAsync(Ct);
        await service.SaveTaskAsync(StateFixture.Task("t2"), Ct);
        await service.SaveSnapshotAsync(Ct);

        StateHealth health = service.CheckHealth();

        Assert.Single(Backups());
        Assert.Equal(1, health.BackupCount);
        Assert.Equal(health.BackupCount, health.StoreDetails["files_backups"]);
    }

    // The tests of the folders' figures check what they count, so each check measures: a measure the service took
    // before the writes (the fake clock never moves) would otherwise be reused for DiskUsageInterval
    // (DiskUsageIntervalTests). The backups and the journal are read at every check (the backup count test).
    private static void MeasureAtEveryCheck(StatePersistenceOptions options) => options.DiskUsageInterval = TimeSpan.Zero;

    private FileInfo[] Backups() =>
        new DirectoryInfo(_fixture.StatePath).GetFiles("state.backup.*.json");

    private long DirectoryBytes(string name) =>
        new DirectoryInfo(_fixture.File(name)).GetFiles().Sum(f => f.Length);
}
