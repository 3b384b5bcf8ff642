using System.Text;
using System.Text.Json;
using StatePersistence.CrashTests.Support;
using StatePersistence.FileStore;
using StatePersistence.FileStore.Operations;
using StatePersistence.FileStore.Operations.TaskArchive;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Testing.CrashSimulation;

namespace StatePersistence.CrashTests.Archive;

/// <summary>
/// The task archive crashed before every file-system operation it makes (and once after the last, the service's
/// closing snapshot included), every crash state sampled under both crash models. Archive: each task it moves is
/// still live, or in an archive that reads back whole, or both; never in neither; the tasks it must not move stay;
/// and a second run finishes the job, the log and report a crash after the delete commit left live included; once the
/// archive run returned, every task it moves is in an archive and gone, with its log and report. Restore: the archive is
/// intact byte for byte, its tasks are all back or none (and then a second restore brings them all back); once the
/// restore returned, all are back. "Returned" is the operation itself, not the close after it: a crash in the closing
/// snapshot comes after the operation was acknowledged.
/// </summary>
public sealed class TaskArchiveCrashTests(ReliabilityLedger ledger)
{
    private const string Root = CrashSimulatingFileSystem.DefaultRoot;
    private const int StatesPerPoint = 6;
    private const string LogText = "npm test passed\n";
    private static readonly DateTimeOffset Cut = Services.Epoch.AddDays(-1);
    private static readonly string[] Archived = ["t_done", "t_failed"];
    private static readonly string[] Kept = ["t_pending", "t_recent"];

    [Fact]
    public async Task Archive_CrashedAnywhere_LeavesEveryTaskLiveOrInADurableArchive_NeverInNeither()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var sweep = new CrashPointSweep(ledger, "archive: tasks with logs and reports", StatesPerPoint);
        (CrashSimulatingFileSystem dry, StatePersistenceService opened) = await OpenSeededAsync(ct);
        Dictionary<string, byte[]> expected = opened.Durable.Tasks.ToDictionary(t => t.Key, t => t.Value.Json);
        int start = dry.OperationCount;
        TaskArchiveResult result = await ArchiveAndCloseAsync(opened, ct);
        Assert.Equal(Archived, result.Tasks);
        sweep.Begin(dry, start);

        foreach (int point in sweep.Points)
        {
            (CrashSimulatingFileSystem disk, StatePersistenceService service) = await OpenSeededAsync(ct);
            // After a crash the dead process's lock goes with it.
            bool archived = false;
            await sweep.RunAsync(disk, point, () => ArchiveAndCloseAsync(service, ct, () => archived = true), () => Services.AbandonAsync(service));
            await sweep.CheckStatesAsync(disk, point, image => CheckArchiveAsync(image, expected, archived, ct));
        }

        sweep.ThrowIfAny();
    }

    [Fact]
    public async Task Restore_CrashedAnywhere_LeavesTheArchiveIntact_AndAllOfItsTasksBackOrNone()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var sweep = new CrashPointSweep(ledger, "archive: restore", StatesPerPoint);
        (CrashSimulatingFileSystem dry, StatePersistenceService opened) = await OpenArchivedAsync(ct);
        Dictionary<string, byte[]> archive = ArchiveFiles(dry);
        (string path, byte[] bytes) = Assert.Single(archive);
        int start = dry.OperationCount;
        await RestoreAndCloseAsync(opened, path, ct);
        sweep.Begin(dry, start);

        foreach (int point in sweep.Points)
        {
            (CrashSimulatingFileSystem disk, StatePersistenceService service) = await OpenArchivedAsync(ct);
            Assert.Equal(bytes, disk.ReadAllBytes(path));
            bool restored = false;
            await sweep.RunAsync(disk, point, () => RestoreAndCloseAsync(service, path, ct, () => restored = true), () => Services.AbandonAsync(service));
            await sweep.CheckStatesAsync(disk, point, image => CheckRestoreAsync(image, path, bytes, restored, ct));
        }

        sweep.ThrowIfAny();
    }

    /// <summary>
    /// Every task to archive is live as it was or in an archive that reads back whole (only the latter, with its log and
    /// report gone, once the run returned: <paramref name="acknowledged"/>); the others are live; a second run finishes.
    /// </summary>
    private static async Task<string?> CheckArchiveAsync(DurableImage image, Dictionary<string, byte[]> expected, bool acknowledged, CancellationToken ct)
    {
        CrashSimulatingFileSystem booted = CrashSimulatingFileSystem.FromImage(image);
        Dictionary<string, byte[]> archived = ArchivedEntries(booted);
        StatePersistenceService service = await OpenAsync(booted, ct);
        await using (service)
        {
            foreach (string id in Archived.Concat(Kept))
            {
                bool live = service.Durable.Tasks.TryGetValue(id, out Commit.StoredItem? item);
                if (live && !item!.Json.AsSpan().SequenceEqual(expected[id]))
                {
                    return $"task {id} is live but changed";
                }

                bool inArchive = archived.TryGetValue(TaskArchiveManifest.TaskEntry(id), out byte[]? copy) && copy.AsSpan().SequenceEqual(expected[id]);
                if (!live && (!inArchive || Kept.Contains(id)))
                {
                    return inArchive ? $"task {id} was archived though it must stay" : $"task {id} is neither live nor in an archive";
                }

                if (acknowledged && Archived.Contains(id) && (live || !inArchive))
                {
                    return live ? $"the archive run returned, yet task {id} is live" : $"the archive run returned, yet task {id} is in no archive";
                }
            }

            if (acknowledged && await service.ReadSessionLogAsync("s1", ct) is { Length: > 0 })
            {
                return "the archive run returned, yet the log of s1 is live";
            }

            if (acknowledged && await service.LoadReportAsync("t_done", ct) is not null)
            {
                return "the archive run returned, yet report t_done is live";
            }

            if (await service.ReadSessionLogAsync("s1", ct) != LogText
                && !(archived.TryGetValue(TaskArchiveManifest.LogEntry("s1"), out byte[]? archivedLog) && Encoding.UTF8.GetString(archivedLog) == LogText))
            {
                return "the log of s1 is neither live nor in an archive";
            }

            if (await service.LoadReportAsync("t_done", ct) is null && !archived.ContainsKey(TaskArchiveManifest.ReportEntry("t_done")))
            {
                return "report t_done is neither live nor in an archive";
            }

            await TaskArchives.ArchiveAsync(service, Cut, withLogs: true, ct);
            if (Archived.FirstOrDefault(service.Durable.Tasks.ContainsKey) is { } left)
            {
                return $"a second archive run left task {left} live";
            }

            // A crash after the delete commit, before the log and the report were removed, is finished too.
            if (await service.ReadSessionLogAsync("s1", ct) is { Length: > 0 })
            {
                return "a second archive run left the log of s1, which went into an archive with t_done, live";
            }

            if (await service.LoadReportAsync("t_done", ct) is not null)
            {
                return "a second archive run left report t_done, which went into an archive with its task, live";
            }
        }

        Dictionary<string, byte[]> after = ArchivedEntries(booted);
        return Archived.FirstOrDefault(id => !after.ContainsKey(TaskArchiveManifest.TaskEntry(id))) is { } lost
            ? $"after a second run task {lost} is in no archive"
            : null;
    }

    /// <summary>
    /// The archive is byte for byte what it was; the tasks are all back (with their log and report) or none, and then a
    /// second restore brings them all; all are back once the restore returned (<paramref name="acknowledged"/>).
    /// </summary>
    private static async Task<string?> CheckRestoreAsync(DurableImage image, string path, byte[] bytes, bool acknowledged, CancellationToken ct)
    {
        CrashSimulatingFileSystem booted = CrashSimulatingFileSystem.FromImage(image);
        if (!booted.FileExists(path) || !booted.ReadAllBytes(path).AsSpan().SequenceEqual(bytes))
        {
            return "the archive is not intact";
        }

        await using StatePersistenceService service = await OpenAsync(booted, ct);
        int back = Archived.Count(service.Durable.Tasks.ContainsKey);
        if (back is not 0 and not 2)
        {
            return $"{back} of the archive's 2 tasks are back";
        }

        if (acknowledged && back == 0)
        {
            return "the restore returned, yet none of the archive's tasks are back";
        }

        if (back == 0)
        {
            await TaskArchives.RestoreAsync(service, path, ct);
            int second = Archived.Count(service.Durable.Tasks.ContainsKey);
            if (second != Archived.Length)
            {
                return $"a second restore brought back {second} of the archive's {Archived.Length} tasks";
            }
        }

        if (await service.ReadSessionLogAsync("s1", ct) != LogText)
        {
            return "the tasks are back without the log of s1";
        }

        return await service.LoadReportAsync("t_done", ct) is null ? "the tasks are back without report t_done" : null;
    }

    /// <summary>Archives, then <paramref name="returned"/> (the run was acknowledged), then closes.</summary>
    private static async Task<TaskArchiveResult> ArchiveAndCloseAsync(StatePersistenceService service, CancellationToken ct, Action? returned = null)
    {
        TaskArchiveResult result = await TaskArchives.ArchiveAsync(service, Cut, withLogs: true, ct);
        returned?.Invoke();
        await service.DisposeAsync();
        return result;
    }

    /// <summary>Restores, then <paramref name="returned"/> (the restore was acknowledged), then closes.</summary>
    private static async Task RestoreAndCloseAsync(StatePersistenceService service, string path, CancellationToken ct, Action? returned = null)
    {
        await TaskArchives.RestoreAsync(service, path, ct);
        returned?.Invoke();
        await service.DisposeAsync();
    }

    /// <summary>Every entry of every archive on the disk; an archive under its final name that does not read back whole throws.</summary>
    private static Dictionary<string, byte[]> ArchivedEntries(IFileSystem disk)
    {
        var entries = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach ((string path, byte[] bytes) in ArchiveFiles(disk))
        {
            foreach ((string name, byte[] content) in TaskArchiveFile.Read(bytes, path).Entries)
            {
                entries[name] = content;
            }
        }

        return entries;
    }

    private static Dictionary<string, byte[]> ArchiveFiles(IFileSystem disk)
    {
        string directory = Root + "/" + TaskArchives.DirectoryName;
        return disk.ListFiles(directory).Where(name => !StateLayout.IsTempFile(name))
            .ToDictionary(name => directory + "/" + name, name => disk.ReadAllBytes(directory + "/" + name), StringComparer.Ordinal);
    }

    private static async Task<StatePersistenceService> OpenAsync(IFileSystem disk, CancellationToken ct)
    {
        StatePersistenceService service = Services.Create(Services.Options(Root), disk, Services.NewClock());
        await service.StartAsync(ct);
        return service;
    }

    /// <summary>
    /// A directory with two tasks to archive (one completed, one failed, both before the cut; the completed one with a
    /// session's log and a report), one pending and one completed after the cut; reopened, with one more pending task saved, ready to archive.
    /// </summary>
    private static async Task<(CrashSimulatingFileSystem, StatePersistenceService)> OpenSeededAsync(CancellationToken ct)
    {
        var disk = new CrashSimulatingFileSystem();
        await using (StatePersistenceService seeding = await OpenAsync(disk, ct))
        {
            DateTimeOffset old = Cut.AddDays(-3);
            await seeding.SaveTaskAsync(new AgentTask { Id = "t_done", Status = TaskStatuses.Completed, UpdatedAt = old, CompletedAt = old }, ct);
            await seeding.SaveTaskAsync(new AgentTask { Id = "t_failed", Status = TaskStatuses.Failed, UpdatedAt = old }, ct);
            await seeding.SaveTaskAsync(new AgentTask { Id = "t_pending", Status = TaskStatuses.Pending, UpdatedAt = old }, ct);
            await seeding.SaveTaskAsync(new AgentTask { Id = "t_recent", Status = TaskStatuses.Completed, UpdatedAt = old, CompletedAt = Cut.AddHours(1) }, ct);
            await seeding.SaveSessionAsync(new SessionInfo { Id = "s1", TaskId = "t_done" }, ct);
            await seeding.AppendSessionLogAsync("s1", LogText, ct);
            using JsonDocument report = JsonDocument.Parse("""{"ok":true}""");
            await seeding.SaveReportAsync("t_done", report.RootElement, ct);
        }

        // A server that has saved since it started, as one archiving on a schedule has: its journal segment is started,
        // so the archive's delete commit appends to it and renames no journal-head.json, whose fsync of the state
        // directory would make a new archive/ directory durable by chance (mutant 73 lived through that).
        StatePersistenceService reopened = await OpenAsync(disk, ct);
        await reopened.SaveTaskAsync(new AgentTask { Id = "t_started", Status = TaskStatuses.Pending, UpdatedAt = Cut.AddDays(-3) }, ct);
        return (disk, reopened);
    }

    /// <summary><see cref="OpenSeededAsync"/>, archived (uncrashed) and reopened, ready to restore.</summary>
    private static async Task<(CrashSimulatingFileSystem, StatePersistenceService)> OpenArchivedAsync(CancellationToken ct)
    {
        (CrashSimulatingFileSystem disk, StatePersistenceService service) = await OpenSeededAsync(ct);
        await ArchiveAndCloseAsync(service, ct);
        return (disk, await OpenAsync(disk, ct));
    }
}
