using StatePersistence.FileSystem;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>Starting and disposing, in every order: a disposed service never opens its store or keeps it open.</summary>
public sealed class ServiceLifetimeTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _fixture.Dispose();

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
