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
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bounded.CancelAfter(TimeSpan.FromMinutes(1));
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        foreach (string id in new[] { "t1", "t2", "t3" })
        {
            await a.SaveTaskAsync(new AgentTask { Id = id, Description = "d", Status = "pending" }, ct);
        }

        StateEventPosition seenOnA = (await ChangesAsync(a.ReadEventsAsync(new StateEventPosition("none", 0, 0), bounded.Token), 1))[0].Position;
        await ChangesAsync(b.ReadEventsAsync(new StateEventPosition("none", 0, 0), bounded.Token), 3); // b's feed has all three

        List<StateEvent> resumed = await ChangesAsync(b.ReadEventsAsync(seenOnA, bounded.Token), 2);

        Assert.Equal([(StateEventTypes.TaskCreated, "t2"), (StateEventTypes.TaskCreated, "t3")], resumed.Select(e => (e.Type, e.Id)));
    }

    [Fact]
    public async Task AnIdOfAnotherInstance_GetsNoneOfThisInstancesOwnEventsFromBeforeIt()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bounded.CancelAfter(TimeSpan.FromMinutes(1));
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await a.SaveTaskAsync(new AgentTask { Id = "t1", Description = "d", Status = "pending" }, ct);
        await a.SaveTaskAsync(new AgentTask { Id = "t2", Description = "d", Status = "pending" }, ct);
        StateEventPosition seenOnA = (await ChangesAsync(a.ReadEventsAsync(new StateEventPosition("none", 0, 0), bounded.Token), 1))[0].Position;
        await ChangesAsync(b.ReadEventsAsync(new StateEventPosition("none", 0, 0), bounded.Token), 2);

        var resumed = new List<StateEvent>();
        await foreach (StateEvent item in b.ReadEventsAsync(seenOnA, bounded.Token))
        {
            resumed.Add(item);
            if (item.Type == StateEventTypes.TaskCreated)
            {
                break;
            }
        }

        // Before: b's own state:loaded (position 0) came first, its id below the one the reader sent; a failover after an
        // outage likewise replayed the instance's old save errors.
        Assert.DoesNotContain(resumed, e => e.Position.FeedPosition < seenOnA.FeedPosition);
        Assert.Equal((StateEventTypes.TaskCreated, "t2"), (resumed[^1].Type, resumed[^1].Id));
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
}
