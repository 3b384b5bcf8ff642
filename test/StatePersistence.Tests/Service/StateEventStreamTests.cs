using System.Text.Json;
using StatePersistence.Events;
using StatePersistence.Model;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>Issue 13 item 6: the state's events as an <see cref="IAsyncEnumerable{T}"/>, from the store's feed, resumable.</summary>
public sealed class StateEventStreamTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _fixture.Dispose();

    [Theory]
    [MemberData(nameof(StateFixture.Stores), MemberType = typeof(StateFixture))]
    public async Task Events_TellCreatedUpdatedAndDeleted_WithTheRevisionOfEachChange(string store)
    {
        await using StatePersistenceService service = await _fixture.OpenAsync(store);
        Task<List<StateEvent>> reading = TakeAsync(service.ReadEventsAsync(null, Ct), 6);

        await service.SaveTaskAsync(StateFixture.Task("task_1"), Ct);
        AgentTask updated = (await service.UpdateTaskAsync("task_1", t => t.Status = TaskStatuses.InProgress, Ct))!;
        await service.CreateSessionAsync(new SessionInfo { Id = "s1", Type = "i", Status = "active" }, Ct);
        await service.UpdateSessionAsync("s1", s => s.Status = "done", Ct);
        await service.DeleteSessionAsync("s1", Ct);
        await service.DeleteTaskAsync("task_1", Ct);
        List<StateEvent> events = await reading;

        Assert.Equal([StateEventTypes.TaskCreated, StateEventTypes.TaskUpdated, StateEventTypes.SessionCreated, StateEventTypes.SessionUpdated,
            StateEventTypes.SessionDeleted, StateEventTypes.TaskDeleted], events.Select(e => e.Type));
        Assert.Equal(["task_1", "task_1", "s1", "s1", "s1", "task_1"], events.Select(e => e.Id));
        Assert.Equal([1L, 2, 3, 4, 5, 6], events.Select(e => e.Revision));
        Assert.Equal(updated.Revision, events[1].Revision);
        Assert.True(events.Zip(events.Skip(1)).All(p => p.First.Position < p.Second.Position));
    }

    [Theory]
    [MemberData(nameof(StateFixture.Stores), MemberType = typeof(StateFixture))]
    public async Task Events_ResumedAfterAPosition_MissNothingAndRepeatNothing(string store)
    {
        await using StatePersistenceService service = await _fixture.OpenAsync(store);
        Task<List<StateEvent>> first = TakeAsync(service.ReadEventsAsync(null, Ct), 2);
        await service.SaveTaskAsync(StateFixture.Task("task_1"), Ct);
        await service.SaveTaskAsync(StateFixture.Task("task_2"), Ct);
        StateEventPosition seen = (await first)[^1].Position;

        // Disconnected: changes, a report and a session log append happen meanwhile.
        await service.SaveTaskAsync(StateFixture.Task("task_3"), Ct);
        await service.DeleteTaskAsync("task_1", Ct);
        await service.SaveReportAsync("r1", JsonSerializer.SerializeToElement(1), Ct);
        await service.AppendSessionLogAsync("s1", "line\n", Ct);
        await service.UpdateTaskAsync("task_2", t => t.Status = TaskStatuses.Completed, Ct);
        List<StateEvent> resumed = await TakeAsync(service.ReadEventsAsync(seen, Ct), 5);

        // The report and log events are the service's own, positioned where they happened; the changes come from the
        // feed, which may reach the stream a moment after the save returned, so only the changes' order is fixed.
        Assert.Equal([(StateEventTypes.TaskCreated, "task_3"), (StateEventTypes.TaskDeleted, "task_1"), (StateEventTypes.TaskUpdated, "task_2")],
            resumed.Where(e => e.Type.StartsWith("task:", StringComparison.Ordinal)).Select(e => (e.Type, e.Id)));
        Assert.Equal([(StateEventTypes.ReportSaved, "r1"), (StateEventTypes.SessionLog, "s1")],
            resumed.Where(e => !e.Type.StartsWith("task:", StringComparison.Ordinal)).Select(e => (e.Type, e.Id)));
        Assert.True(resumed[0].Position > seen);

        // Positions written and read back resume the same way.
        Assert.True(StateEventPosition.TryParse(resumed[2].Position.ToString(), out StateEventPosition? parsed));
        Assert.Equal(resumed[3], Assert.Single(await TakeAsync(service.ReadEventsAsync(parsed, Ct), 1)));
    }

    [Theory]
    [MemberData(nameof(StateFixture.Stores), MemberType = typeof(StateFixture))]
    public async Task Events_ResumedFromFurtherBackThanHeld_StartWithAReset_ThenContinue(string store)
    {
        await using StatePersistenceService service = await OpenAsync(store, history: 4);
        Task<List<StateEvent>> first = TakeAsync(service.ReadEventsAsync(null, Ct), 1);
        await service.SaveTaskAsync(StateFixture.Task("task_0"), Ct);
        StateEventPosition old = (await first)[0].Position;
        for (int i = 1; i <= 6; i++)
        {
            await service.SaveTaskAsync(StateFixture.Task($"task_{i}"), Ct);
        }

        // The stream follows the feed a moment behind the saves: until it has all seven, 'old' may still be held.
        await WaitForEventsThroughAsync(service, service.Revision);

        // The 4 events held cannot cover the 6 after 'old': a reset, never a silent gap.
        StateEvent reset = Assert.Single(await TakeAsync(service.ReadEventsAsync(old, Ct), 1));
        Assert.Equal(StateEventTypes.Reset, reset.Type);
        Assert.InRange(reset.Revision, 1, service.Revision);

        // After it: every change after the reset's revision (a reload shows everything up to it), then new ones.
        Task<List<StateEvent>> afterReset = TakeAsync(service.ReadEventsAsync(reset.Position, Ct), (int)(service.Revision - reset.Revision) + 1);
        await service.SaveTaskAsync(StateFixture.Task("task_7"), Ct);
        List<StateEvent> continued = await afterReset;
        Assert.Equal(Enumerable.Range((int)reset.Revision + 1, continued.Count).Select(r => (long)r), continued.Select(e => e.Revision));
        Assert.Equal("task_7", continued[^1].Id);
    }

    [Fact]
    public async Task Events_ResumedAfterARestart_ContinueFromTheFeedRevision_OrResetWhenOlder()
    {
        StateEventPosition current;
        StateEventPosition older;
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            Task<List<StateEvent>> reading = TakeAsync(service.ReadEventsAsync(null, Ct), 2);
            await service.SaveTaskAsync(StateFixture.Task("task_1"), Ct);
            await service.SaveTaskAsync(StateFixture.Task("task_2"), Ct);
            List<StateEvent> seen = await reading;
            (older, current) = (seen[0].Position, seen[1].Position);
        }

        await using StatePersistenceService restarted = await _fixture.OpenAsync();
        Task<List<StateEvent>> resumed = TakeAsync(restarted.ReadEventsAsync(current, Ct), 2);
        await restarted.SaveTaskAsync(StateFixture.Task("task_3"), Ct);
        List<StateEvent> fromOlder = await TakeAsync(restarted.ReadEventsAsync(older, Ct), 1);

        // The new process's own events (it loaded the state) and every change after the revision the reader had.
        Assert.Equal([(StateEventTypes.StateLoaded, null), (StateEventTypes.TaskCreated, "task_3")], (await resumed).Select(e => (e.Type, e.Id)));
        Assert.Equal(StateEventTypes.Reset, Assert.Single(fromOlder).Type);
    }

    [Fact]
    public async Task Events_ResumedAfterACrash_FromInsideAGroupOfChanges_StartWithAReset_WhileTheGroupsLastChangeContinues()
    {
        (StateEventPosition first, StateEventPosition last) = await ReadAGroupOfThreeAsync(crash: true);

        // The reader got the group's first change; its connection was cut, then the process was killed (the group is
        // still in the journal, no snapshot covers it). The group's other two changes are in the state loaded, which no
        // event of the new stream shows: the reader must reload.
        await using StatePersistenceService restarted = await _fixture.OpenAsync();
        Task<List<StateEvent>> fromInside = TakeUntilAsync(restarted.ReadEventsAsync(first, Ct), IsTask4OrReset);
        await restarted.SaveTaskAsync(StateFixture.Task("task_4"), Ct);
        List<StateEvent> fromLast = await TakeUntilAsync(restarted.ReadEventsAsync(last, Ct), IsTask4OrReset);

        // Before: [state:loaded, task:created task_4], task_2 and task_3 skipped without a word.
        Assert.Equal(StateEventTypes.Reset, (await fromInside)[0].Type);
        Assert.Equal([(StateEventTypes.StateLoaded, null), (StateEventTypes.TaskCreated, "task_4")], fromLast.Select(e => (e.Type, e.Id)));
    }

    [Fact]
    public async Task Events_ResumedAfterAGracefulRestart_FromInsideAGroupOfChanges_ContinueAfterTheGroup_TheLimitTheReadmeStates()
    {
        (StateEventPosition first, _) = await ReadAGroupOfThreeAsync(crash: false);

        // The final snapshot covers the group and the journal no longer holds it: the new process cannot tell how many
        // changes it had, so the id continues after its position, the group's rest skipped (README, Events, "Ids and
        // resuming"; so does a whole state saved, which its own snapshot covers at once).
        await using StatePersistenceService restarted = await _fixture.OpenAsync();
        Task<List<StateEvent>> resumed = TakeUntilAsync(restarted.ReadEventsAsync(first, Ct), IsTask4OrReset);
        await restarted.SaveTaskAsync(StateFixture.Task("task_4"), Ct);

        Assert.Equal([(StateEventTypes.StateLoaded, null), (StateEventTypes.TaskCreated, "task_4")], (await resumed).Select(e => (e.Type, e.Id)));
    }

    /// <summary>
    /// Archives three finished tasks (one group of three deletions, which no snapshot follows) while a reader reads;
    /// returns the ids of the group's first and last change, after the service was abandoned as a kill -9 leaves it
    /// (<paramref name="crash"/>: the group stays in the journal) or disposed (its final snapshot covers the group).
    /// </summary>
    private async Task<(StateEventPosition First, StateEventPosition Last)> ReadAGroupOfThreeAsync(bool crash)
    {
        StatePersistenceService service = await _fixture.OpenAsync();
        try
        {
            foreach (string id in new[] { "task_1", "task_2", "task_3" })
            {
                await service.SaveTaskAsync(StateFixture.Task(id, TaskStatuses.Completed), Ct);
            }

            // The stream follows the feed a moment behind the saves: the reader starts after the three creations.
            await WaitForEventsThroughAsync(service, service.Revision);
            Task<List<StateEvent>> reading = TakeAsync(service.ReadEventsAsync(null, Ct), 3);
            await StatePersistence.FileStore.Operations.TaskArchives.ArchiveAsync(service, _fixture.Time.GetUtcNow().AddDays(1), cancellationToken: Ct);
            List<StateEvent> group = await reading;
            Assert.Equal([(StateEventTypes.TaskDeleted, "task_1"), (StateEventTypes.TaskDeleted, "task_2"), (StateEventTypes.TaskDeleted, "task_3")],
                group.Select(e => (e.Type, e.Id)));
            Assert.Single(group.Select(e => e.Position.FeedPosition).Distinct());
            return (group[0].Position, group[^1].Position);
        }
        finally
        {
            if (crash)
            {
                await StateFixture.CrashAsync(service);
            }
            else
            {
                await service.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Events_TellTheAutosaveAndItsSnapshot_AfterTheChangesTheyCover()
    {
        await using StatePersistenceService service = await _fixture.OpenAsync();
        Task<List<StateEvent>> reading = TakeAsync(service.ReadEventsAsync(null, Ct), 3);
        await service.SaveTaskAsync(StateFixture.Task("task_1"), Ct);

        _fixture.Time.Advance(TimeSpan.FromSeconds(30));
        List<StateEvent> events = await reading;

        Assert.Equal([StateEventTypes.TaskCreated, StateEventTypes.AutosaveTriggered, StateEventTypes.StateSaved], events.Select(e => e.Type));
        Assert.All(events, e => Assert.Equal(1, e.Revision));
    }

    [Fact]
    public async Task ReadEvents_BeforeStart_IsRefused()
    {
        await using StatePersistenceService service = _fixture.Create();

        Assert.Throws<InvalidOperationException>(() => service.ReadEventsAsync(null, Ct));
    }

    private async Task<StatePersistenceService> OpenAsync(string store, int history)
    {
        StatePersistenceOptions options = _fixture.Options(o => o.EventHistory = history);
        StatePersistenceService service = store == "memory"
            ? new StatePersistenceService(options, new StatePersistence.InMemory.InMemoryStateStore(), timeProvider: _fixture.Time)
            : new StatePersistenceService(options, new StatePersistence.FileStore.FileStateStore(options, timeProvider: _fixture.Time), timeProvider: _fixture.Time);
        await service.StartAsync(Ct);
        return service;
    }

    /// <summary>Reads <paramref name="count"/> events. Begins reading before it returns, so a change made after the call is seen.</summary>
    private static async Task WaitForEventsThroughAsync(StatePersistenceService service, long position)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        while (service.EventsFeedPosition < position)
        {
            await Task.Delay(5, timeout.Token);
        }
    }

    private static bool IsTask4OrReset(StateEvent item) => item.Type == StateEventTypes.Reset || item.Id == "task_4";

    /// <summary>The events up to the first that <paramref name="last"/> holds for, that one included; bounded.</summary>
    private static async Task<List<StateEvent>> TakeUntilAsync(IAsyncEnumerable<StateEvent> events, Func<StateEvent, bool> last)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        var taken = new List<StateEvent>();
        await foreach (StateEvent item in events.WithCancellation(timeout.Token))
        {
            taken.Add(item);
            if (last(item))
            {
                break;
            }
        }

        return taken;
    }

    private static async Task<List<StateEvent>> TakeAsync(IAsyncEnumerable<StateEvent> events, int count)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        var taken = new List<StateEvent>();
        await foreach (StateEvent item in events.WithCancellation(timeout.Token))
        {
            taken.Add(item);
            if (taken.Count == count)
            {
                break;
            }
        }

        return taken;
    }
}
