using StatePersistence.Encryption;
using StatePersistence.Errors;
using StatePersistence.FileStore;
using StatePersistence.FileStore.Operations;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Testing.FaultInjection;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>
/// A save that fails in code a background pass shares with a caller outside it (the task archive the retention pass
/// runs, the re-encryption step that forces a checkpoint) reaches that caller as the save's own exception, reported
/// once: the pass alone gets it wrapped as already reported (<see cref="FailureCountedOnceTests"/>), and the wrapper,
/// an internal type, never reaches a caller of the public API.
/// </summary>
public sealed class PassSharedSaveFailureTypeTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ATaskArchiveWhoseDeleteCommitFails_ThrowsTheSavesStorageError_ReportedOnce()
    {
        await SeedOldTaskAsync();
        var disk = new FaultInjectingFileSystem(PhysicalFileSystem.Instance) { ReportedFreeSpace = 1L << 40 };
        await using StatePersistenceService service = await _fixture.OpenAsync(o => o.AutosaveInterval = TimeSpan.Zero, disk);
        List<string> errors = Errors(service);
        FailJournalWrites(disk);

        await Assert.ThrowsAsync<StateStorageException>(() => TaskArchives.ArchiveAsync(service, _fixture.Time.GetUtcNow().AddDays(-1), cancellationToken: Ct));

        Assert.Single(Directory.GetFiles(_fixture.File(TaskArchives.DirectoryName)));
        Assert.Equal(["save-archive"], Snapshot(errors));
    }

    [Fact]
    public async Task ATaskRestoreWhoseCommitFails_ThrowsTheSavesStorageError_ReportedOnce()
    {
        await SeedOldTaskAsync();
        var disk = new FaultInjectingFileSystem(PhysicalFileSystem.Instance) { ReportedFreeSpace = 1L << 40 };
        await using StatePersistenceService service = await _fixture.OpenAsync(o => o.AutosaveInterval = TimeSpan.Zero, disk);
        string archive = (await TaskArchives.ArchiveAsync(service, _fixture.Time.GetUtcNow().AddDays(-1), cancellationToken: Ct)).Archive!;
        List<string> errors = Errors(service);
        FailJournalWrites(disk);

        await Assert.ThrowsAsync<StateStorageException>(() => TaskArchives.RestoreAsync(service, archive, Ct));

        Assert.Null(await service.LoadTaskAsync("old", Ct));
        Assert.Equal(["save-restore"], Snapshot(errors));
    }

    [Fact]
    public async Task AReencryptionRunToItsEndWhoseCheckpointFails_ThrowsTheSnapshotsStorageError_ReportedOnce()
    {
        await _fixture.WriteSealedStateAsync(_fixture.KeyFilePath);
        EncryptionKeyOperations.Rotate(_fixture.KeyFilePath);
        var disk = new FaultInjectingFileSystem(PhysicalFileSystem.Instance) { ReportedFreeSpace = 1L << 40 };
        string stateTemp = _fixture.File("state.json") + ".";
        disk.InjectFault(FaultOperations.Open, InjectedError.IOError, persistent: true,
            pathFilter: p => p.StartsWith(stateTemp, StringComparison.Ordinal) && p.EndsWith(".tmp", StringComparison.Ordinal));
        await using StatePersistenceService service = await _fixture.OpenEncryptedAsync(disk);
        List<string> errors = Errors(service);

        await Assert.ThrowsAsync<StateStorageException>(() => service.ReencryptToEndAsync(Ct));

        Assert.Equal(["snapshot"], Snapshot(errors));
    }

    private async Task SeedOldTaskAsync()
    {
        await using StatePersistenceService seeding = await _fixture.OpenAsync();
        DateTimeOffset longAgo = _fixture.Time.GetUtcNow().AddDays(-10);
        await seeding.SaveTaskAsync(new AgentTask { Id = "old", Status = TaskStatuses.Completed, CompletedAt = longAgo, Description = "old" }, Ct);
    }

    private void FailJournalWrites(FaultInjectingFileSystem disk)
    {
        string journal = new StateLayout(_fixture.StatePath).JournalDirectory + Path.DirectorySeparatorChar;
        disk.InjectFault(FaultOperations.Write, InjectedError.IOError, persistent: true, pathFilter: p => p.StartsWith(journal, StringComparison.Ordinal));
    }

    private static List<string> Errors(StatePersistenceService service)
    {
        var errors = new List<string>();
        service.StateSaveError += (_, e) =>
        {
            lock (errors)
            {
                errors.Add(e.Operation);
            }
        };
        return errors;
    }

    private static List<string> Snapshot(List<string> errors)
    {
        lock (errors)
        {
            return [.. errors];
        }
    }
}
