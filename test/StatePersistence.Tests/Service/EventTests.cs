using StatePersistence.Diagnostics;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

public sealed class EventTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task ThrowingHandler_DoesNotBreakSaves_AndOtherHandlersStillRun()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService service = _fixture.Create();
        var seen = new List<string>();
        service.StateSaved += (_, _) => throw new InvalidOperationException("handler bug");
        service.StateSaved += (_, e) => seen.Add(e.What);
        service.StateLoaded += (_, _) => throw new InvalidOperationException("handler bug");
        await service.StartAsync(ct);
        await using (service)
        {
            await service.SaveTaskAsync(StateFixture.Task("task_1"), ct);
            await service.SaveSnapshotAsync(ct);

            Assert.Equal(["task", "snapshot"], seen);
            Assert.NotNull(await service.LoadTaskAsync("task_1", ct));
        }
    }

    [Fact]
    public async Task StartAndShutdown_RaiseLoadedAndShutdownSaved()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService service = _fixture.Create();
        StateLoadedEventArgs? loaded = null;
        ShutdownSaveEventArgs? shutdown = null;
        service.StateLoaded += (_, e) => loaded = e;
        service.ShutdownSaved += (_, e) => shutdown = e;
        await service.StartAsync(ct);
        await service.SaveTaskAsync(StateFixture.Task("task_1"), ct);
        long revision = service.Revision;

        await service.DisposeAsync();

        Assert.NotNull(loaded);
        Assert.Equal("none", loaded.Report.SnapshotSource);
        Assert.NotNull(shutdown);
        Assert.Null(shutdown.Error);
        Assert.Equal(revision, shutdown.Revision);
        Assert.True(File.Exists(_fixture.File("state.json")));
    }
}
