using Microsoft.Extensions.Logging;
using StatePersistence.Encryption;
using StatePersistence.Errors;
using StatePersistence.FileStore;
using StatePersistence.FileStore.Operations;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// The task archive on a running service (as a server's retention policy will call it), and the stores it refuses. The
/// crash suite (<c>TaskArchiveCrashTests</c>) and statectl's tests cover the rest.
/// </summary>
public sealed class TaskArchiveTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    private DateTimeOffset Now => _fixture.Time.GetUtcNow();

    [Fact]
    public async Task ArchiveAndRestore_OnARunningService_ServeOnWithoutTheArchivedTasks_AndAfterAReopen()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            await service.SaveTaskAsync(new AgentTask { Id = "old", Status = TaskStatuses.Completed, CompletedAt = Now.AddDays(-10) }, ct);
            await service.SaveTaskAsync(new AgentTask { Id = "new", Status = TaskStatuses.Completed, CompletedAt = Now }, ct);

            TaskArchiveResult archived = await TaskArchives.ArchiveAsync(service, Now.AddDays(-1), cancellationToken: ct);

            Assert.Equal(["old"], archived.Tasks);
            Assert.Empty(archived.StillLive);
            Assert.Null(await service.LoadTaskAsync("old", ct));
            Assert.Equal(1, service.TaskCount);
            await service.SaveTaskAsync(new AgentTask { Id = "later", Status = TaskStatuses.Pending }, ct);
            Assert.Equal(Path.Combine(_fixture.StatePath, "archive"), Path.GetDirectoryName(archived.Archive));
        }

        string file = Assert.Single(Directory.GetFiles(_fixture.File("archive")));
        await using (StatePersistenceService reopened = await _fixture.OpenAsync())
        {
            Assert.Equal(["later", "new"], (await reopened.LoadTasksAsync(ct)).Select(t => t.Id));

            TaskRestoreResult restored = await TaskArchives.RestoreAsync(reopened, file, ct);

            Assert.Equal(["old"], restored.Tasks);
            AgentTask back = (await reopened.LoadTaskAsync("old", ct))!;
            Assert.Equal(Now.AddDays(-10), back.CompletedAt);
            Assert.Equal(restored.Revision, back.Revision);
        }
    }

    [Theory]
    [InlineData(2, long.MaxValue)] // by the number of tasks
    [InlineData(int.MaxValue, 40)] // by the bytes of their content (the task JSON and the log)
    public async Task ALargeRun_WritesSeveralArchives_EachReadBackAndItsTasksDeletedBeforeTheNext_AndEachRestores(int maxTasks, long maxBytes)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync();
        for (int i = 0; i < 5; i++)
        {
            await service.SaveTaskAsync(new AgentTask { Id = $"t{i}", Description = $"task number {i} done", Status = TaskStatuses.Completed, CompletedAt = Now.AddDays(-10) }, ct);
        }

        Assert.True(await service.CreateSessionAsync(new SessionInfo { Id = "s0", Type = "interactive", Status = "ended", TaskId = "t0" }, ct));
        await service.AppendSessionLogAsync("s0", "what task 0 did\n", ct);
        var store = (FileStateStore)service.Store;

        TaskArchiveResult result = await new StatePersistence.FileStore.Operations.TaskArchive.TaskArchiver(service, store, store, maxTasks, maxBytes)
            .RunAsync(Now.AddDays(-1), withLogs: true, ct);

        Assert.Equal(["t0", "t1", "t2", "t3", "t4"], result.Tasks.Order(StringComparer.Ordinal));
        Assert.True(result.Archives.Count >= 3, $"{result.Archives.Count} archive(s)");
        Assert.Equal(result.Archives[0], result.Archive);
        Assert.Equal(result.Archives.Sum(a => new FileInfo(a).Length), result.Bytes);
        Assert.Equal(1, result.Logs);
        Assert.Equal(0, service.TaskCount);
        Assert.Equal(result.Archives.Order(StringComparer.Ordinal), Directory.GetFiles(_fixture.File("archive")).Order(StringComparer.Ordinal));

        string holdingT3 = Assert.Single(await TaskArchives.FindAsync(service, ["t3"], ct));
        Assert.Contains(holdingT3, result.Archives.Select(Path.GetFileName));
        Assert.Equal(result.Archives.Count, (await TaskArchives.FindAsync(service, ["t0", "t1", "t2", "t3", "t4"], ct)).Count);
        Assert.Empty(await TaskArchives.FindAsync(service, ["never-archived"], ct));

        var restored = new List<string>();
        foreach (string archive in result.Archives)
        {
            TaskRestoreResult back = await TaskArchives.RestoreAsync(service, Path.GetFileName(archive), ct);
            Assert.InRange(back.Tasks.Count, 1, Math.Min(maxTasks, 5));
            restored.AddRange(back.Tasks);
        }

        Assert.Equal(["t0", "t1", "t2", "t3", "t4"], restored.Order(StringComparer.Ordinal));
        Assert.Equal("what task 0 did\n", await service.ReadSessionLogAsync("s0", ct));
    }

    /// <summary>
    /// Two runs at once in one process (the retention pass and a library caller) take turns: each task goes into one
    /// archive, and the second run finds nothing left. Before, both took the same tasks and the second failed deleting them.
    /// </summary>
    [Fact]
    public async Task TwoRunsAtOnce_TakeTurns_EachTaskInOneArchive()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync();
        for (int i = 0; i < 20; i++)
        {
            await service.SaveTaskAsync(new AgentTask { Id = $"t{i:D2}", Description = "done", Status = TaskStatuses.Completed, CompletedAt = Now.AddDays(-10) }, ct);
        }

        TaskArchiveResult[] results = await Task.WhenAll(
            Task.Run(() => TaskArchives.ArchiveAsync(service, Now.AddDays(-1), cancellationToken: ct), ct),
            Task.Run(() => TaskArchives.ArchiveAsync(service, Now.AddDays(-1), cancellationToken: ct), ct));

        Assert.Equal(20, results.Sum(r => r.Tasks.Count));
        Assert.Single(results, r => r.NothingToArchive);
        string archive = Assert.Single(Directory.GetFiles(_fixture.File("archive")));
        Assert.Equal(results.Single(r => !r.NothingToArchive).Archive, archive);
        Assert.Equal(0, service.TaskCount);
    }

    /// <summary>
    /// A run that finds the archive lock held says so before it waits (the retention pass runs in the background, where
    /// a silent wait looks like a hang), and how long it waited once its turn comes; a run that finds it free says nothing.
    /// </summary>
    [Fact]
    public async Task ARunFindingTheLockHeld_LogsWhoHoldsItBeforeWaiting_AndTheWaitOnceItsTurnComes()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var logs = new CapturedLogs();
        using ILoggerFactory loggers = LoggerFactory.Create(builder => builder.AddProvider(logs));
        StatePersistenceOptions options = _fixture.Options();
        var store = new FileStateStore(options, timeProvider: _fixture.Time);
        await using var service = new StatePersistenceService(options, store, loggers, _fixture.Time);
        await service.StartAsync(ct);
        await service.SaveTaskAsync(new AgentTask { Id = "old", Status = TaskStatuses.Completed, CompletedAt = Now.AddDays(-10) }, ct);
        var archives = (StatePersistence.Retention.ITaskArchiveStore)store;
        Assert.Null(await archives.DescribeTaskArchiveLockHolderAsync(ct));

        Task<TaskArchiveResult> run;
        await using (await archives.AcquireTaskArchiveLockAsync(ct))
        {
            Assert.Equal("another task archive run or restore in this process", await archives.DescribeTaskArchiveLockHolderAsync(ct));
            run = Task.Run(() => TaskArchives.ArchiveAsync(service, Now.AddDays(-1), cancellationToken: ct), ct);
            CapturedLogs.Entry? waiting = null;
            for (int attempt = 0; waiting is null && attempt < 3000; attempt++)
            {
                await Task.Delay(10, ct);
                waiting = logs.Entries.FirstOrDefault(e => e.Id == 75);
            }

            Assert.NotNull(waiting);
            Assert.Contains("the archive lock is held by another task archive run or restore in this process; this one waits", waiting.Message);
            Assert.False(run.IsCompleted);
            Assert.Equal(1, service.TaskCount);
        }

        Assert.Equal(["old"], (await run).Tasks);
        Assert.Contains(logs.Entries, e => e.Id == 76 && e.Message.Contains("had the archive lock after waiting", StringComparison.Ordinal));
        Assert.Null(await archives.DescribeTaskArchiveLockHolderAsync(ct));

        // A run that finds the lock free logs neither.
        await service.SaveTaskAsync(new AgentTask { Id = "older", Status = TaskStatuses.Completed, CompletedAt = Now.AddDays(-10) }, ct);
        Assert.Equal(["older"], (await TaskArchives.ArchiveAsync(service, Now.AddDays(-1), cancellationToken: ct)).Tasks);
        Assert.Single(logs.Entries, e => e.Id == 75);
        Assert.Single(logs.Entries, e => e.Id == 76);
    }

    [Fact]
    public async Task Archive_OfAnEncryptedDirectory_SealsEveryEntry_RestoresWithTheKey_AndIsRefusedWithoutIt()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceOptions options = _fixture.Options();
        string file;
        await using (var service = new StatePersistenceService(options,
            new FileStateStore(options, PhysicalFileSystem.Instance, new AesGcmTestCodec(), _fixture.Time), timeProvider: _fixture.Time))
        {
            await service.StartAsync(ct);
            await service.SaveTaskAsync(new AgentTask { Id = "old", Description = "plaintext-description", Status = TaskStatuses.Failed, UpdatedAt = Now.AddDays(-10) }, ct);
            Assert.True(await service.CreateSessionAsync(new SessionInfo { Id = "s1", Status = "done", TaskId = "old" }, ct));
            await service.AppendSessionLogAsync("s1", "plaintext-log-line\n", ct);
            await service.SaveReportAsync("old", System.Text.Json.JsonDocument.Parse("""{"summary":"plaintext-report"}""").RootElement, ct);

            TaskArchiveResult archived = await TaskArchives.ArchiveAsync(service, Now, withLogs: true, cancellationToken: ct);

            Assert.Equal(["old"], archived.Tasks);
            Assert.Equal((1, 1), (archived.Logs, archived.Reports));
            file = archived.Archive!;

            // Nothing of the content is in the clear inside the archive (the tar, once the gzip is undone).
            using var gzip = new System.IO.Compression.GZipStream(File.OpenRead(file), System.IO.Compression.CompressionMode.Decompress);
            using var tar = new MemoryStream();
            await gzip.CopyToAsync(tar, ct);
            string text = System.Text.Encoding.UTF8.GetString(tar.ToArray());
            Assert.Contains("manifest.json", text, StringComparison.Ordinal);
            Assert.DoesNotContain("plaintext", text, StringComparison.Ordinal);

            // The archive's three sealed entries count as payloads of their key, so the key cannot be removed under it.
            string alone = Path.Combine(Path.GetDirectoryName(_fixture.StatePath)!, "archive-alone");
            Directory.CreateDirectory(Path.Combine(alone, "archive"));
            File.Copy(file, Path.Combine(alone, "archive", Path.GetFileName(file)));
            KeyUsageCount usage = Assert.Single(EncryptionKeyUsage.Measure(alone).ByKey).Value;
            Assert.Equal(new KeyUsageCount(3, 1), usage);

            TaskRestoreResult restored = await TaskArchives.RestoreAsync(service, file, ct);

            Assert.Equal(["old"], restored.Tasks);
            Assert.Equal("plaintext-description", (await service.LoadTaskAsync("old", ct))!.Description);
            Assert.Equal("plaintext-log-line\n", await service.ReadSessionLogAsync("s1", ct));
            Assert.NotNull(await service.LoadReportAsync("old", ct));
            Assert.NotNull(await TaskArchives.ArchiveAsync(service, Now, withLogs: true, cancellationToken: ct));
        }

        // Without the key (another directory, no codec) the sealed archive is refused before anything is written.
        var other = new StatePersistenceOptions { StatePath = Path.Combine(Path.GetDirectoryName(_fixture.StatePath)!, "other") };
        await using StatePersistenceService plain = await FileStatePersistence.OpenAsync(other, timeProvider: _fixture.Time, cancellationToken: ct);
        string archive = Directory.GetFiles(_fixture.File("archive")).OrderBy(f => f, StringComparer.Ordinal).Last();
        StatePersistenceException refused = await Assert.ThrowsAnyAsync<StatePersistenceException>(() => TaskArchives.RestoreAsync(plain, archive, ct));
        Assert.Contains(archive, refused.Message, StringComparison.Ordinal);
        Assert.Null(await plain.LoadTaskAsync("old", ct));
        Assert.Null(await plain.ReadSessionLogAsync("s1", ct));
    }

    [Fact]
    public async Task Archive_OverAStoreThatKeepsNoArchives_IsRefusedNamingIt()
    {
        await using StatePersistenceService service = await _fixture.OpenAsync("memory");

        ArgumentException refused = await Assert.ThrowsAsync<ArgumentException>(() => TaskArchives.ArchiveAsync(service, Now, cancellationToken: TestContext.Current.CancellationToken));

        Assert.Contains("'memory' keeps no task archives", refused.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _fixture.Dispose();
}
