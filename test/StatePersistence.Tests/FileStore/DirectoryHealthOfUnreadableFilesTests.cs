using StatePersistence.FileStore.Operations;
using StatePersistence.FileSystem;
using StatePersistence.Testing.FaultInjection;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// <c>statectl health</c>'s judgement (<see cref="StateDirectoryHealth"/>) of a directory whose state this user cannot
/// read: the server (as the same user) refuses to open it, exit 2, so it is Unhealthy, naming the file. The refusals are
/// injected, as a test running as root cannot be refused a read. The CLI audit of 2026-12-06 found an unreadable
/// <c>state.json</c> judged Degraded (exit 0) and an unreadable journal segment giving no report at all, only the
/// exception's one line.
/// </summary>
public sealed class DirectoryHealthOfUnreadableFilesTests : IDisposable
{
    private readonly StateFixture _fixture = new();
    private readonly FaultInjectingFileSystem _disk = new(PhysicalFileSystem.Instance) { ReportedFreeSpace = 1L << 40 };

    public void Dispose() => _fixture.Dispose();

    private async Task StoppedServersDirectoryAsync()
    {
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.SaveTaskAsync(StateFixture.Task("t1"), TestContext.Current.CancellationToken);
        await service.SaveSnapshotAsync(TestContext.Current.CancellationToken);
        await service.SaveTaskAsync(StateFixture.Task("t2"), TestContext.Current.CancellationToken);
    }

    private StateDirectoryHealth Inspect() =>
        StateDirectoryHealth.Inspect(_fixture.StatePath, StateDirectoryHealth.DefaultLowDiskSpaceBytes, codec: null, _disk);

    [Fact]
    public async Task AnUnreadableStateJson_IsUnhealthy_NamingIt()
    {
        await StoppedServersDirectoryAsync();
        string state = _fixture.File("state.json");
        _disk.InjectFault(FaultOperations.Open, InjectedError.AccessDenied, persistent: true, pathFilter: p => p == state);

        StateDirectoryHealth health = Inspect();

        Assert.Equal(StateHealthStatus.Unhealthy, health.Status);
        Assert.Contains(health.Reasons, r => r.Contains(state, StringComparison.Ordinal) && r.Contains("cannot be read", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnUnreadableJournalSegment_IsUnhealthy_NamingIt_AndTheRestIsStillReported()
    {
        await StoppedServersDirectoryAsync();
        string segment = Directory.GetFiles(_fixture.File("journal"), "*.wal").Order(StringComparer.Ordinal).Last();
        _disk.InjectFault(FaultOperations.Open, InjectedError.AccessDenied, persistent: true, pathFilter: p => p == segment);

        StateDirectoryHealth health = Inspect();

        Assert.Equal(StateHealthStatus.Unhealthy, health.Status);
        Assert.Contains(health.Reasons, r => r.Contains(segment, StringComparison.Ordinal) && r.Contains("cannot be read", StringComparison.Ordinal));
        Assert.True(health.Writable);
        Assert.NotNull(health.Usage);
    }
}
