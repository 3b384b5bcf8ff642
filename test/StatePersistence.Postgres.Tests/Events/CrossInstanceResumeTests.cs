using StatePersistence.Events;
using StatePersistence.Model;
using StatePersistence.Postgres.Tests.Support;

namespace StatePersistence.Postgres.Tests.Events;

/// <summary>
/// On a shared store other instances write the feed too, so an event id of another instance's stream, past the state
/// this instance loaded, is one a client that moved between instances really holds: it is continued, not reset. (On a
/// store of one writer such an id cannot be real and gets <c>reset</c>: the server's <c>EventStreamTests</c>.)
/// </summary>
public sealed class CrossInstanceResumeTests
{
    [Fact]
    public async Task AnIdOfAnotherInstance_PastTheStateLoaded_ContinuesOnThisOne()
    {
        await using TwoInstances two = await TwoInstances.OpenAsync("t1", "t2", "t3");

        List<StateEvent> resumed = await ChangesAsync(two.B.ReadEventsAsync(two.SeenOnA, two.Bounded), 2);

        Assert.Equal([(StateEventTypes.TaskCreated, "t2"), (StateEventTypes.TaskCreated, "t3")], resumed.Select(e => (e.Type, e.Id)));
    }

    [Fact]
    public async Task AnIdOfAnotherInstance_GetsNoneOfThisInstancesOwnEventsFromBeforeIt()
    {
        await using TwoInstances two = await TwoInstances.OpenAsync("t1", "t2");

        var resumed = new List<StateEvent>();
        await foreach (StateEvent item in two.B.ReadEventsAsync(two.SeenOnA, two.Bounded))
        {
            resumed.Add(item);
            if (item.Type == StateEventTypes.TaskCreated)
            {
                break;
            }
        }

        // Before: b's own state:loaded (position 0) came first, its id below the one the reader sent; a failover after an
        // outage likewise replayed the instance's old save errors.
        Assert.DoesNotContain(resumed, e => e.Position.FeedPosition < two.SeenOnA.FeedPosition);
        Assert.Equal((StateEventTypes.TaskCreated, "t2"), (resumed[^1].Type, resumed[^1].Id));
    }

    [Fact]
    public async Task AnIdOfAnotherInstance_InsideAGroupOfChanges_ContinuesWithTheRestOfTheGroup()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bounded.CancelAfter(TimeSpan.FromMinutes(1));
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await a.SaveTaskAsync(new AgentTask { Id = "t0", Description = "d", Status = "pending" }, ct);

        // One committed group of several changes (the whole state replaced), then one change after it.
        await a.SaveStateAsync(new PersistedState
        {
            Tasks = [.. new[] { "g1", "g2", "g3" }.Select(id => new AgentTask { Id = id, Description = "d", Status = "pending" })],
        }, ct);
        await a.SaveTaskAsync(new AgentTask { Id = "t4", Description = "d", Status = "pending" }, ct);
        List<StateEvent> onA = await ChangesUntilAsync(a.ReadEventsAsync(new StateEventPosition("none", 0, 0), bounded.Token), "t4");
        long groupPosition = onA.Single(e => e.Id == "g1").Position.FeedPosition;
        List<StateEvent> group = [.. onA.Where(e => e.Position.FeedPosition == groupPosition)];
        Assert.Equal(4, group.Count); // t0 deleted, g1 to g3 created
        await ChangesUntilAsync(b.ReadEventsAsync(new StateEventPosition("none", 0, 0), bounded.Token), "t4");

        // The client read the group's first change on a, then its connection moved to b.
        List<StateEvent> resumed = await ChangesUntilAsync(b.ReadEventsAsync(group[0].Position, bounded.Token), "t4");

        // Before: b continued after the group's position, so the group's other changes were skipped without a reset.
        Assert.Equal([.. group.Skip(1).Select(e => (e.Type, e.Id)), (StateEventTypes.TaskCreated, "t4")], resumed.Select(e => (e.Type, e.Id)));
    }

    [Fact]
    public async Task AnIdOfAnInstanceBeforeItsRestart_InsideTheGroupItRestartsAt_StartsWithAReset_WhileTheGroupsLastChangeContinues()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bounded.CancelAfter(TimeSpan.FromMinutes(1));
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        List<StateEvent> group;
        await using (StatePersistenceService before = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct))
        {
            await before.SaveTaskAsync(new AgentTask { Id = "t0", Description = "d", Status = "pending" }, ct);
            await before.SaveStateAsync(new PersistedState
            {
                Tasks = [.. new[] { "g1", "g2", "g3" }.Select(id => new AgentTask { Id = id, Description = "d", Status = "pending" })],
            }, ct);
            List<StateEvent> seen = await ChangesAsync(before.ReadEventsAsync(new StateEventPosition("none", 0, 0), bounded.Token), 5);
            group = [.. seen.Where(e => e.Position.FeedPosition == seen[^1].Position.FeedPosition)];
            Assert.Equal(4, group.Count); // t0 deleted, g1 to g3 created
        }

        // The only instance restarted (or the client moved to one that loaded the state at the group's position): the
        // group is in the state it loaded, and none of its changes is an event of its stream.
        await using StatePersistenceService restarted = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        Task<List<StateEvent>> fromInside = UntilT4OrResetAsync(restarted.ReadEventsAsync(group[0].Position, bounded.Token));
        await restarted.SaveTaskAsync(new AgentTask { Id = "t4", Description = "d", Status = "pending" }, ct);
        List<StateEvent> fromLast = await UntilT4OrResetAsync(restarted.ReadEventsAsync(group[^1].Position, bounded.Token));

        // Before: the id inside the group continued with t4, the group's other three changes skipped without a reset.
        Assert.Equal(StateEventTypes.Reset, (await fromInside)[0].Type);
        Assert.DoesNotContain(fromLast, e => e.Type == StateEventTypes.Reset);
        Assert.Equal((StateEventTypes.TaskCreated, "t4"), (fromLast[^1].Type, fromLast[^1].Id));
    }

    /// <summary>The events up to a <c>reset</c> or the change of t4, that one included.</summary>
    private static async Task<List<StateEvent>> UntilT4OrResetAsync(IAsyncEnumerable<StateEvent> events)
    {
        var taken = new List<StateEvent>();
        await foreach (StateEvent item in events)
        {
            taken.Add(item);
            if (item.Type == StateEventTypes.Reset || item.Id == "t4")
            {
                break;
            }
        }

        return taken;
    }

    /// <summary>The task changes up to the one of <paramref name="lastId"/>; a <c>reset</c> before it fails the test.</summary>
    private static async Task<List<StateEvent>> ChangesUntilAsync(IAsyncEnumerable<StateEvent> events, string lastId)
    {
        var changes = new List<StateEvent>();
        await foreach (StateEvent item in events)
        {
            Assert.NotEqual(StateEventTypes.Reset, item.Type);
            if (item.Type.StartsWith("task:", StringComparison.Ordinal))
            {
                changes.Add(item);
                if (item.Id == lastId)
                {
                    break;
                }
            }
        }

        return changes;
    }

    /// <summary>The first <paramref name="count"/> task changes; a <c>reset</c> before them fails the test.</summary>
    private static async Task<List<StateEvent>> ChangesAsync(IAsyncEnumerable<StateEvent> events, int count)
    {
        var changes = new List<StateEvent>();
        await foreach (StateEvent item in events)
        {
            Assert.NotEqual(StateEventTypes.Reset, item.Type);
            if (item.Type.StartsWith("task:", StringComparison.Ordinal))
            {
                changes.Add(item);
                if (changes.Count == count)
                {
                    break;
                }
            }
        }

        return changes;
    }

    /// <summary>
    /// Two instances on a new schema; <c>a</c> created the tasks, <see cref="SeenOnA"/> is the position of the first
    /// one's event on a's stream, and b's feed has all of them. Reads are bounded to a minute.
    /// </summary>
    private sealed class TwoInstances : IAsyncDisposable
    {
        private readonly CancellationTokenSource _bounded = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        private TestSchema? _schema;
        private StatePersistenceService? _a;

        public StatePersistenceService B { get; private set; } = null!;

        public StateEventPosition SeenOnA { get; private set; }

        public CancellationToken Bounded => _bounded.Token;

        public static async Task<TwoInstances> OpenAsync(params string[] taskIds)
        {
            CancellationToken ct = TestContext.Current.CancellationToken;
            var two = new TwoInstances();
            two._bounded.CancelAfter(TimeSpan.FromMinutes(1));
            two._schema = await PostgresServer.NewSchemaAsync();
            two._a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, two._schema.Name, cancellationToken: ct);
            two.B = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, two._schema.Name, cancellationToken: ct);
            foreach (string id in taskIds)
            {
                await two._a.SaveTaskAsync(new AgentTask { Id = id, Description = "d", Status = "pending" }, ct);
            }

            var start = new StateEventPosition("none", 0, 0);
            two.SeenOnA = (await ChangesAsync(two._a.ReadEventsAsync(start, two.Bounded), 1))[0].Position;
            await ChangesAsync(two.B.ReadEventsAsync(start, two.Bounded), taskIds.Length);
            return two;
        }

        public async ValueTask DisposeAsync()
        {
            await B.DisposeAsync();
            if (_a is not null)
            {
                await _a.DisposeAsync();
            }

            if (_schema is not null)
            {
                await _schema.DisposeAsync();
            }

            _bounded.Dispose();
        }
    }
}
