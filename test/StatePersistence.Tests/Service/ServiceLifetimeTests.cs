using StatePersistence.Errors;
using StatePersistence.FileStore;
using StatePersistence.FileSystem;
using StatePersistence.InMemory;
using StatePersistence.Storage;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>Starting and disposing, in every order: a disposed service never opens its store or keeps it open.</summary>
public sealed class ServiceLifetimeTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _fixture.Dispose();

    [Theory]
    [InlineData("file")]
    [InlineData("memory")]
    public async Task AStoreAlreadyAServices_IsRefusedToASecondService_WhichCannotCloseItUnderTheFirst(string kind)
    {
        StatePersistenceOptions options = _fixture.Options();
        var storage = new InMemoryStorage();
        IStateStore store = kind == "file" ? new FileStateStore(options) : new InMemoryStateStore(storage);
        await using var first = new StatePersistenceService(options, store);
        await first.StartAsync(Ct);

        ArgumentException refused = Assert.Throws<ArgumentException>(() => { _ = new StatePersistenceService(options, store); });

        // Before: the second service was built, its start failed ("already open") and its disposal closed the store
        // under the first, whose next write threw "not open" while another process could open the directory.
        Assert.Contains(store.Location, refused.Message, StringComparison.Ordinal);
        Assert.Contains("already belongs to another StatePersistenceService", refused.Message, StringComparison.Ordinal);
        await first.SaveTaskAsync(StateFixture.Task("t1"), Ct);
        if (kind == "file")
        {
            await Assert.ThrowsAsync<StateDirectoryLockedException>(() => FileStatePersistence.OpenAsync(options, cancellationToken: Ct));
        }
        else
        {
            await using var beside = new StatePersistenceService(options, new InMemoryStateStore(storage));
            await Assert.ThrowsAsync<StateDirectoryLockedException>(() => beside.StartAsync(Ct));
        }
    }

    [Fact]
    public async Task CheckHealth_BeforeTheStart_IsUnhealthy_SayingSo_NotAnException()
    {
        await using StatePersistenceService service = _fixture.Create();

        StateHealth health = service.CheckHealth();

        // Before: InvalidOperationException from the state it does not hold yet.
        Assert.Equal(StateHealthStatus.Unhealthy, health.Status);
        Assert.Contains(health.Reasons, r => r.Contains("is not started", StringComparison.Ordinal) && r.Contains(_fixture.StatePath, StringComparison.Ordinal));
        Assert.False(Directory.Exists(_fixture.StatePath), "the check probed (created) the directory of a service not started");
    }

    [Fact]
    public async Task AStoreWhoseServiceWasDisposed_MayBeClaimedAgain_ByTheRulesOfTheStoreItself()
    {
        StatePersistenceOptions options = _fixture.Options();
        var store = new InMemoryStateStore(new InMemoryStorage());
        var first = new StatePersistenceService(options, store);
        await first.DisposeAsync();

        // The claim ends with the service: what the store allows after its disposal is the store's to say.
        await using var second = new StatePersistenceService(options, store);
    }

    [Fact]
    public async Task StartAfterDispose_IsRefusedAsDisposed_AndOpensNothing()
    {
        StatePersistenceService service = _fixture.Create();
        await service.DisposeAsync();

        ObjectDisposedException refused = await Assert.ThrowsAsync<ObjectDisposedException>(() => service.StartAsync(Ct));

        Assert.Contains(nameof(StatePersistenceService), refused.Message, StringComparison.Ordinal);
        Assert.Contains(_fixture.StatePath, refused.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_fixture.StatePath), "the disposed service created the state directory");
        await service.DisposeAsync();
        await using StatePersistenceService next = await _fixture.OpenAsync();
    }

    [Fact]
    public async Task StartAfterStartAndDispose_SaysDisposed_NotAlreadyStarted_AndTheDirectoryStaysFree()
    {
        StatePersistenceService service = await _fixture.OpenAsync();
        await service.DisposeAsync();

        ObjectDisposedException refused = await Assert.ThrowsAsync<ObjectDisposedException>(() => service.StartAsync(Ct));

        Assert.Contains(_fixture.StatePath, refused.Message, StringComparison.Ordinal);
        await using StatePersistenceService next = await _fixture.OpenAsync();
    }

    [Fact]
    public async Task DisposeDuringStart_WaitsForTheStart_ThenReleasesTheDirectory()
    {
        using var lockReached = new ManualResetEventSlim();
        using var proceed = new ManualResetEventSlim();
        var fileSystem = new LockHookFileSystem(PhysicalFileSystem.Instance, () =>
        {
            lockReached.Set();
            proceed.Wait(TimeSpan.FromSeconds(30));
        });
        StatePersistenceService service = _fixture.Create(fileSystem: fileSystem);
        Task starting = Task.Run(() => service.StartAsync(Ct), Ct);
        Assert.True(lockReached.Wait(TimeSpan.FromSeconds(30), Ct), "the start never reached the directory lock");

        Task disposing = service.DisposeAsync().AsTask();
        proceed.Set();
        await starting;
        await disposing;

        await using StatePersistenceService next = await _fixture.OpenAsync();
    }
}
