using StatePersistence.Errors;
using StatePersistence.FileSystem;
using StatePersistence.Testing.FaultInjection;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// Issue 9 defect 4: Linux keeps the pages of a failed write-back readable and marks them clean, so a restart without a
/// power cut reads them back and a later fsync writes nothing. What a restart serves must survive the power cut after it.
/// </summary>
public sealed class FailedSyncRecoveryTests : IDisposable
{
    private readonly StateFixture _fixture = new();
    private readonly FaultInjectingFileSystem _disk = new(PhysicalFileSystem.Instance) { FailedSyncModel = FailedSyncModel.KeepReadableNotDurable };

    public void Dispose() => _fixture.Dispose();

    private Task<StatePersistenceService> OpenAsync() => _fixture.OpenAsync(fileSystem: _disk);

    [Fact]
    public async Task JournalRecordWhoseSyncFailed_ServedAfterARestart_SurvivesThePowerCutAfterIt()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService first = await OpenAsync();
        await first.SaveTaskAsync(StateFixture.Task("t1"), ct);
        _disk.InjectFault(FaultOperations.Sync, InjectedError.IOError, pathFilter: p => p.EndsWith(".wal", StringComparison.Ordinal));
        await Assert.ThrowsAsync<StateStorageException>(async () => await first.SaveTaskAsync(StateFixture.Task("t2"), ct));
        await StateFixture.CrashAsync(first);

        StatePersistenceService second = await OpenAsync();
        string[] served = [.. (await second.LoadTasksAsync(ct)).Select(t => t.Id)];
        await second.SaveTaskAsync(StateFixture.Task("t3"), ct);
        await StateFixture.CrashAsync(second);
        _disk.LoseWritesWhoseSyncFailed();

        await using StatePersistenceService third = await OpenAsync();
        string[] after = [.. (await third.LoadTasksAsync(ct)).Select(t => t.Id)];
        Assert.Equal([.. served, "t3"], after);
        Assert.Empty(third.LastRecovery!.Lost);
    }

    [Fact]
    public async Task SessionLogTextWhoseSyncFailed_IsNotServedAfterARestart_NorLeftBetweenAcknowledgedAppends()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService first = await OpenAsync();
        await first.AppendSessionLogAsync("s1", "acknowledged\n", ct);
        _disk.InjectFault(FaultOperations.Sync, InjectedError.IOError, pathFilter: p => p.EndsWith(".log", StringComparison.Ordinal));
        await Assert.ThrowsAsync<StateStorageException>(async () => await first.AppendSessionLogAsync("s1", "failed\n", ct));
        await StateFixture.CrashAsync(first);

        StatePersistenceService second = await OpenAsync();
        Assert.Equal("acknowledged\n", await second.ReadSessionLogAsync("s1", ct));
        await second.AppendSessionLogAsync("s1", "after\n", ct);
        await StateFixture.CrashAsync(second);
        _disk.LoseWritesWhoseSyncFailed();

        await using StatePersistenceService third = await OpenAsync();
        Assert.Equal("acknowledged\nafter\n", await third.ReadSessionLogAsync("s1", ct));
    }
}
