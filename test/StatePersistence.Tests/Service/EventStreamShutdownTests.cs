using StatePersistence.Events;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>A <see cref="IStatePersistence.ReadEventsAsync"/> stream ends with the service, after the shutdown's own events.</summary>
public sealed class EventStreamShutdownTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _fixture.Dispose();

    [Theory]
    [MemberData(nameof(StateFixture.Stores), MemberType = typeof(StateFixture))]
    public async Task AStreamBeingRead_EndsWhenTheServiceIsDisposed_WithEveryChangeFirst(string store)
    {
        StatePersistenceService service = await _fixture.OpenAsync(store);
        Task<List<StateEvent>> reading = ReadToEndAsync(service.ReadEventsAsync(null, Ct));
        await service.SaveTaskAsync(StateFixture.Task("task_1"), Ct);
        await service.SaveTaskAsync(StateFixture.Task("task_2"), Ct);

        await service.DisposeAsync();
        List<StateEvent> events = await reading.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.Equal([(StateEventTypes.TaskCreated, "task_1"), (StateEventTypes.TaskCreated, "task_2")],
            events.Where(e => e.Type.StartsWith("task:", StringComparison.Ordinal)).Select(e => (e.Type, e.Id)));
        Assert.True(events.Zip(events.Skip(1)).All(p => p.First.Position < p.Second.Position));
    }

    [Fact]
    public async Task AStreamBeingRead_EndsAfterTheFinalSnapshotsEvent()
    {
        StatePersistenceService service = await _fixture.OpenAsync();
        Task<List<StateEvent>> reading = ReadToEndAsync(service.ReadEventsAsync(null, Ct));
        await service.SaveTaskAsync(StateFixture.Task("task_1"), Ct);

        await service.DisposeAsync();
        List<StateEvent> events = await reading.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.Equal([StateEventTypes.TaskCreated, StateEventTypes.StateSaved], events.Select(e => e.Type));
        Assert.Equal(1, events[^1].Revision);
    }

    [Fact]
    public async Task ChangesTheFeedHadNotDelivered_AreInTheStreamBeforeItEnds_AheadOfLaterOwnEvents()
    {
        var store = new LaggingFeedStore();
        var service = new StatePersistenceService(_fixture.Options(), store, timeProvider: _fixture.Time, blobs: store.Inner);
        await service.StartAsync(Ct);
        Task<List<StateEvent>> reading = ReadToEndAsync(service.ReadEventsAsync(null, Ct));
        await service.SaveTaskAsync(StateFixture.Task("task_1"), Ct);
        await service.SaveReportAsync("r1", System.Text.Json.JsonSerializer.SerializeToElement(1), Ct);

        await service.DisposeAsync();
        List<StateEvent> events = await reading.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.Equal([(StateEventTypes.TaskCreated, "task_1"), (StateEventTypes.ReportSaved, "r1")], events.Select(e => (e.Type, e.Id)));
    }

    [Theory]
    [MemberData(nameof(StateFixture.Stores), MemberType = typeof(StateFixture))]
    public async Task ReadingAfterDispose_ThrowsObjectDisposed_NotCancelled(string store)
    {
        StatePersistenceService service = await _fixture.OpenAsync(store);
        await service.DisposeAsync();

        ObjectDisposedException refused = await Assert.ThrowsAsync<ObjectDisposedException>(
            () => ReadToEndAsync(service.ReadEventsAsync(null, Ct)).WaitAsync(TimeSpan.FromSeconds(30), Ct));

        Assert.Contains(service.Location, refused.Message, StringComparison.Ordinal);
    }

    /// <summary>Every event until the stream ends; the first read runs before this returns, so the stream starts now.</summary>
    private static async Task<List<StateEvent>> ReadToEndAsync(IAsyncEnumerable<StateEvent> events)
    {
        var read = new List<StateEvent>();
        await foreach (StateEvent item in events)
        {
            read.Add(item);
        }

        return read;
    }
}
