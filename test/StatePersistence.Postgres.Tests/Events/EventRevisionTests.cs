using Npgsql;
using StatePersistence.Events;
using StatePersistence.Model;
using StatePersistence.Postgres.Tests.Support;

namespace StatePersistence.Postgres.Tests.Events;

/// <summary>
/// On PostgreSQL feed positions (dense, in commit order) and revisions (a sequence) are numbered apart, so an event's
/// <c>revision</c> must be taken from the state, never from the feed: an audit found <c>reset</c> and the service's own
/// events carrying the position.
/// </summary>
public sealed class EventRevisionTests
{
    [Fact]
    public async Task AResetAndTheServicesOwnEvents_CarryTheStatesRevision_NotTheFeedPosition()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService service = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);

        // Revisions taken by transactions that never committed (as a conflict or a failure leaves them): from here
        // on a revision is 100 ahead of its feed position.
        await using (NpgsqlCommand burn = PostgresServer.DataSource.CreateCommand($"SELECT nextval('{schema.Name}.revisions') FROM generate_series(1, 100)"))
        {
            await burn.ExecuteNonQueryAsync(ct);
        }

        await service.SaveTaskAsync(new AgentTask { Id = "t1", Description = "d", Status = "pending" }, ct);
        long revision = (await service.LoadTaskAsync("t1", ct))!.Revision;
        Assert.True(revision > 100, $"the sequence was not advanced ({revision})");
        StateEventPosition changed = await ChangeEventAsync(service, "t1", ct);
        Assert.True(changed.FeedPosition < revision, $"position {changed.FeedPosition} and revision {revision} are not apart: the test proves nothing");

        // A service event (a report) after the change, then a reader whose place this stream cannot continue (a
        // position past anything this stream has seen, from another stream).
        await service.SaveReportAsync("r1", System.Text.Json.JsonDocument.Parse("""{"ok":true}""").RootElement, ct);
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bounded.CancelAfter(TimeSpan.FromMinutes(1));
        await using IAsyncEnumerator<StateEvent> events = service.ReadEventsAsync(new StateEventPosition("another-stream", 1_000_000, 0), bounded.Token)
            .GetAsyncEnumerator(bounded.Token);
        Assert.True(await events.MoveNextAsync());
        Assert.Equal((StateEventTypes.Reset, revision), (events.Current.Type, events.Current.Revision));

        StateEvent report = await NextAsync(service, StateEventTypes.ReportSaved, bounded.Token);
        Assert.Equal(revision, report.Revision);

        // An event the service raises without a revision of its own (a failed save: PostgreSQL's jsonb refuses the
        // escaped NUL character) takes the state's.
        await Assert.ThrowsAnyAsync<Exception>(async () =>
            await service.SaveTaskAsync(new AgentTask { Id = "t2", Description = "nul \0 here", Status = "pending" }, ct));
        StateEvent failed = await NextAsync(service, StateEventTypes.StateSaveError, bounded.Token);
        Assert.Equal(revision, failed.Revision);
    }

    private static async Task<StateEventPosition> ChangeEventAsync(StatePersistenceService service, string id, CancellationToken ct)
    {
        await foreach (StateEvent item in service.ReadEventsAsync(new StateEventPosition("none", 0, 0), ct))
        {
            if (item.Id == id && item.Type.StartsWith("task:", StringComparison.Ordinal))
            {
                return item.Position;
            }
        }

        throw new InvalidOperationException("the stream ended");
    }

    private static async Task<StateEvent> NextAsync(StatePersistenceService service, string type, CancellationToken ct)
    {
        await foreach (StateEvent item in service.ReadEventsAsync(new StateEventPosition("none", 0, 0), ct))
        {
            if (item.Type == type)
            {
                return item;
            }
        }

        throw new InvalidOperationException("the stream ended");
    }
}
