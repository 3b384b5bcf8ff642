using StatePersistence.Diagnostics;
using StatePersistence.Model;
using StatePersistence.Recovery;
using StatePersistence.Testing.FaultInjection;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>Issue 9 defect 3 and the backup half of issue 10 item 4: every valid backup is used, none blocks a save.</summary>
public sealed class BackupRecoveryTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task CorruptTaskFile_WhenStateJsonIsUnusable_IsRestoredFromTheNewestBackupHoldingIt()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await WriteSnapshotsAsync(ct);
        string backup = Directory.GetFiles(_fixture.StatePath, "state.backup.*.json").Order(StringComparer.Ordinal).Last();
        await File.WriteAllTextAsync(_fixture.File("state.json"), "{\"tasks\":[", ct);
        await File.WriteAllBytesAsync(_fixture.File("tasks", "task_2.json"), new byte[40], ct);

        var detected = new List<CorruptionDetectedEventArgs>();
        StatePersistenceService service = _fixture.Create();
        service.CorruptionDetected += (_, e) => detected.Add(e);
        await service.StartAsync(ct);
        await using (service)
        {
            // The backup holds task_2 as it was before its last update: restored, and marked as possibly stale.
            Assert.Equal(TaskStatuses.Pending, (await service.LoadTaskAsync("task_2", ct))!.Status);
            RecoveryReport report = service.LastRecovery!;
            Assert.Empty(report.Lost);
            RestoredItem restored = Assert.Single(report.RestoredFromBackup);
            Assert.Equal(("task", "task_2", Path.GetFileName(backup)), (restored.Kind, restored.Id, restored.Source));
            Assert.True(restored.PossiblyStale);
            Assert.Contains(detected, e => e.File.OriginalPath == _fixture.File("tasks", "task_2.json"));
            Assert.Equal(StateHealthStatus.Degraded, service.CheckHealth().Status);
        }
    }

    [Fact]
    public async Task CorruptTaskFile_IsNotRestoredFromABackupOlderThanItsDeletion()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await WriteSnapshotsAsync(ct);
        await using (StatePersistenceService again = await _fixture.OpenAsync())
        {
            await again.DeleteTaskAsync("task_1", ct);
            _fixture.Time.Advance(TimeSpan.FromSeconds(1));
            await again.SaveSnapshotAsync(ct);
            await again.SaveTaskAsync(StateFixture.Task("task_3"), ct);
            _fixture.Time.Advance(TimeSpan.FromSeconds(1));
            await again.SaveSnapshotAsync(ct);
        }

        await File.WriteAllTextAsync(_fixture.File("state.json"), "{\"tasks\":[", ct);
        await File.WriteAllTextAsync(_fixture.File("tasks", "task_1.json"), "{\"id\":\"task_1\",", ct);

        await using StatePersistenceService service = await _fixture.OpenAsync();

        Assert.Equal(["task_2", "task_3"], (await service.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.Empty(service.LastRecovery!.RestoredFromBackup);
        Assert.Empty(service.LastRecovery.Lost);
    }

    [Fact]
    public async Task CorruptTaskFile_ThatNoValidCopyHolds_IsLost()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await WriteSnapshotsAsync(ct);
        await File.WriteAllTextAsync(_fixture.File("state.json"), "{\"tasks\":[", ct);
        foreach (string backup in Directory.GetFiles(_fixture.StatePath, "state.backup.*.json"))
        {
            await File.WriteAllTextAsync(backup, "{", ct);
        }

        await File.WriteAllBytesAsync(_fixture.File("tasks", "task_2.json"), new byte[40], ct);

        await using StatePersistenceService service = await _fixture.OpenAsync();

        Assert.Equal(["task_1"], (await service.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.Contains(service.LastRecovery!.Lost, l => l.Contains("task_2", StringComparison.Ordinal));
        Assert.Empty(service.LastRecovery.RestoredFromBackup);
    }

    [Fact]
    public async Task BackupWithAFlippedBit_IsCaughtByItsChecksum_AndMovedAside()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await WriteSnapshotsAsync(ct);
        string backup = Directory.GetFiles(_fixture.StatePath, "state.backup.*.json").Single();
        byte[] bytes = await File.ReadAllBytesAsync(backup, ct);
        int at = bytes.AsSpan().IndexOf("pending"u8);
        bytes[at] ^= 0x01; // "pending" -> "qending": still valid JSON
        await File.WriteAllBytesAsync(backup, bytes, ct);
        await File.WriteAllTextAsync(_fixture.File("state.json"), "{\"tasks\":[", ct);

        await using StatePersistenceService service = await _fixture.OpenAsync();

        Assert.Contains(service.LastRecovery!.Quarantined, q => q.OriginalPath == backup);
        Assert.Equal(["task_1", "task_2"], (await service.LoadTasksAsync(ct)).Select(t => t.Id));
    }

    [Fact]
    public async Task UnreadableOldBackup_DoesNotFailLaterSnapshots()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await WriteSnapshotsAsync(ct);
        string oldest = Directory.GetFiles(_fixture.StatePath, "state.backup.*.json").Order(StringComparer.Ordinal).First();
        var fileSystem = new FaultInjectingFileSystem(StatePersistence.FileSystem.PhysicalFileSystem.Instance);
        fileSystem.InjectFault(FaultOperations.Open | FaultOperations.Read, InjectedError.IOError, persistent: true, pathFilter: p => p == oldest);

        await using StatePersistenceService service = await _fixture.OpenAsync(o => o.MaxBackups = 1, fileSystem);
        // The first rotation that meets it fails (the error may be transient: reported, never swallowed) ...
        await service.SaveTaskAsync(StateFixture.Task("task_10"), ct);
        _fixture.Time.Advance(TimeSpan.FromSeconds(1));
        await Assert.ThrowsAsync<StatePersistence.Errors.StateStorageException>(() => service.SaveSnapshotAsync(ct).AsTask());

        // ... and every later one moves it aside and succeeds.
        for (int i = 0; i < 3; i++)
        {
            await service.SaveTaskAsync(StateFixture.Task($"task_{i + 11}"), ct);
            _fixture.Time.Advance(TimeSpan.FromSeconds(1));
            await service.SaveSnapshotAsync(ct);
        }

        Assert.NotEqual(StateHealthStatus.Unhealthy, service.CheckHealth().Status);
        // An unreadable backup is evidence: moved aside or left in place, never deleted.
        Assert.True(File.Exists(oldest) || Directory.GetFiles(_fixture.StatePath, Path.GetFileNameWithoutExtension(oldest) + ".corrupt.*.json").Length == 1);
    }

    /// <summary>state.json: task_1 pending, task_2 completed; its backup: both pending.</summary>
    private async Task WriteSnapshotsAsync(CancellationToken ct)
    {
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.SaveTaskAsync(StateFixture.Task("task_1"), ct);
        await service.SaveTaskAsync(StateFixture.Task("task_2"), ct);
        await service.SaveSnapshotAsync(ct);
        _fixture.Time.Advance(TimeSpan.FromSeconds(1));
        await service.SaveTaskAsync(StateFixture.Task("task_2", TaskStatuses.Completed), ct);
        await service.SaveSnapshotAsync(ct);
    }
}
