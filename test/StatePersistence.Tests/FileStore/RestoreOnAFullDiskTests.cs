using StatePersistence.Errors;
using StatePersistence.FileStore.Operations;
using StatePersistence.Model;
using StatePersistence.Testing.FaultInjection;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// A whole-state replace (and so a backup restore) commits through the journal and then writes a snapshot. On a full
/// disk the snapshot can fail after the commit is durable: the call must then say the change IS stored (the disk-full
/// audit's restore exited 1 saying only the snapshot's error, and the operator took the rolled-back state for the old
/// one), and the restore must say where the state before it is kept.
/// </summary>
public sealed class RestoreOnAFullDiskTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A backup holding task a only; the current state a, b and c, c not yet in a snapshot.</summary>
    private async Task<string> WriteHistoryAsync()
    {
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            await service.SaveTaskAsync(StateFixture.Task("a"), Ct);
            await service.SaveSnapshotAsync(Ct);
            _fixture.Time.Advance(TimeSpan.FromSeconds(1));
            await service.SaveTaskAsync(StateFixture.Task("b"), Ct);
            await service.SaveSnapshotAsync(Ct);
            _fixture.Time.Advance(TimeSpan.FromSeconds(1));
            await service.SaveTaskAsync(StateFixture.Task("c"), Ct);
            await StateFixture.CrashAsync(service);
        }

        return Path.GetFileName(Directory.GetFiles(_fixture.StatePath, "state.backup.*.json").Single());
    }

    /// <summary>A file system on which every state.json temp file after the first <paramref name="allowed"/> fails with ENOSPC.</summary>
    private static FaultInjectingFileSystem SnapshotsFailAfter(int allowed)
    {
        var fileSystem = new FaultInjectingFileSystem(StatePersistence.FileSystem.PhysicalFileSystem.Instance);
        fileSystem.InjectFault(FaultOperations.Open, InjectedError.NoSpace, nthCall: allowed + 1, persistent: true,
            pathFilter: p => Path.GetFileName(p).StartsWith("state.json.", StringComparison.Ordinal) && p.EndsWith(".tmp", StringComparison.Ordinal));
        return fileSystem;
    }

    [Fact]
    public async Task SaveStateAsync_WhoseSnapshotFails_SaysTheChangeIsStored_AndItIs()
    {
        await WriteHistoryAsync();
        long committed;
        await using (StatePersistenceService service = await _fixture.OpenAsync(o => o.SnapshotOnShutdown = false, SnapshotsFailAfter(allowed: 0)))
        {
            PersistedState state = await service.LoadStateAsync(Ct);
            state.Tasks.RemoveAll(t => t.Id == "b");

            StateSnapshotFailedException error = await Assert.ThrowsAsync<StateSnapshotFailedException>(() => service.SaveStateAsync(state, Ct).AsTask());

            Assert.IsAssignableFrom<StateStorageException>(error.InnerException);
            Assert.Contains("committed at revision", error.Message, StringComparison.Ordinal);
            committed = error.CommittedRevision;
            Assert.Equal(committed, service.Revision);
        }

        await using StatePersistenceService reopened = await _fixture.OpenAsync();
        Assert.Equal(["a", "c"], (await reopened.LoadTasksAsync(Ct)).Select(t => t.Id));
        Assert.Equal(committed, reopened.Revision);
    }

    [Fact]
    public async Task BackupRestore_WhoseSnapshotFails_ReportsTheRestoreDone_AndKeepsTheStateBeforeIt()
    {
        string backup = await WriteHistoryAsync();
        StateBackupRestore restored;
        await using (StatePersistenceService service = await _fixture.OpenAsync(o => o.SnapshotOnShutdown = false, SnapshotsFailAfter(allowed: 1)))
        {
            // The restore's first snapshot (the state before it, a, b and c, into state.json) is written; the one
            // after the restore is not.
            restored = await StateBackups.RestoreAsync(service, backup, Ct);
            Assert.Equal(["a"], (await service.LoadTasksAsync(Ct)).Select(t => t.Id));
        }

        Assert.NotNull(restored.SnapshotFailure);
        Assert.Contains("No space left", restored.SnapshotFailure, StringComparison.Ordinal);
        Assert.Equal("state.json", restored.PreviousStateBackup);
        string kept = await File.ReadAllTextAsync(_fixture.File("state.json"), Ct);
        Assert.StartsWith("{\n  \"version\": \"2.1.0\",\n  \"revision\": 3,", kept, StringComparison.Ordinal); // a, b and c, before the restore's 4


        // The restore is durable: the next start serves it, and its first snapshot turns the state before it into a backup.
        await using StatePersistenceService reopened = await _fixture.OpenAsync();
        Assert.Equal(["a"], (await reopened.LoadTasksAsync(Ct)).Select(t => t.Id));
        Assert.Equal(restored.Revision, reopened.Revision);
        _fixture.Time.Advance(TimeSpan.FromSeconds(1));
        await reopened.SaveSnapshotAsync(Ct);
        string newest = StateBackups.List(_fixture.StatePath)[0].Name;
        Assert.Equal(3, StateBackups.Read(_fixture.StatePath, newest).State.Tasks.Count);
    }
}
