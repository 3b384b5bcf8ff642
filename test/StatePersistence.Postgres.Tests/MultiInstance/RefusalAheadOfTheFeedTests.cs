using System.Globalization;
using StatePersistence.Model;
using StatePersistence.Postgres.Tests.Support;

namespace StatePersistence.Postgres.Tests.MultiInstance;

/// <summary>
/// A log append's check or an update's callback (where the server checks its quotas and rules) on instance B right
/// after instance A changed the item, before B's feed has delivered that change: B's copy would be refused, the
/// store's version is not. The refusal is decided on the store's version, as <see cref="CheckAheadOfTheFeedTests"/>
/// shows for a replace; before 2026-12-07 an append or update refused on B's trailing copy.
/// </summary>
public sealed class RefusalAheadOfTheFeedTests
{
    // B's feed delivers A's change within a millisecond or two, so a single round could pass by luck.
    private const int Rounds = 30;

    [Fact]
    public async Task AnAppendOnB_WhoseCheckRefusesTheLongLogBHolds_AppendsToTheLogAJustEmptied()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);

        for (int i = 0; i < Rounds; i++)
        {
            string id = "logged_" + i.ToString(CultureInfo.InvariantCulture);
            await a.SaveTaskAsync(WithLogs(id, 3), ct);
            await b.WaitForTaskAsync(id, (await a.LoadTaskAsync(id, ct))!.Revision, ct);
            // A empties the log; B's feed has not delivered that yet, so B still holds three entries.
            await a.SaveTaskAsync(WithLogs(id, 0), ct);

            AgentTask? logged = await b.AppendTaskLogAsync(id, Entry("appended"), task =>
            {
                if (task.Logs.Count > 1)
                {
                    throw new InvalidOperationException($"quota: task {id} may hold one log entry, not {task.Logs.Count}");
                }
            }, ct);

            Assert.Equal("appended", Assert.Single(logged?.Logs ?? []).Message);
        }
    }

    [Fact]
    public async Task AnUpdateOnB_ValidOnlyAfterAsChange_UpdatesTheTaskAndTheSessionAsAChangedThem()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);

        for (int i = 0; i < Rounds; i++)
        {
            string id = "updated_" + i.ToString(CultureInfo.InvariantCulture);
            await a.SaveTaskAsync(new AgentTask { Id = id, Description = "d", Status = "pending" }, ct);
            await a.SaveSessionAsync(new SessionInfo { Id = id, Type = "interactive", Status = "active" }, ct);
            await b.WaitForTaskAsync(id, (await a.LoadTaskAsync(id, ct))!.Revision, ct);
            await b.WaitForSessionAsync(id, (await a.LoadSessionAsync(id, ct))!.Revision, ct);
            // A starts the task and pauses the session; B's feed has not delivered that yet.
            await a.UpdateTaskAsync(id, t => t.Status = "in_progress", ct);
            await a.UpdateSessionAsync(id, s => s.Status = "paused", ct);

            AgentTask? task = await b.UpdateTaskAsync(id, t =>
            {
                if (t.Status != "in_progress")
                {
                    throw new InvalidOperationException($"task {id} is {t.Status}: only a started task may complete");
                }

                t.Status = "completed";
            }, ct);
            SessionInfo? session = await b.UpdateSessionAsync(id, s =>
            {
                if (s.Status != "paused")
                {
                    throw new InvalidOperationException($"session {id} is {s.Status}: only a paused session may close");
                }

                s.Status = "closed";
            }, ct);

            Assert.Equal("completed", task?.Status);
            Assert.Equal("closed", session?.Status);
        }
    }

    [Fact]
    public async Task AnAppendOrUpdateOnB_RefusedOnTheStoresVersionToo_IsRefusedOnce()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await a.SaveTaskAsync(WithLogs("t", 3), ct);
        await b.WaitForTaskAsync("t", (await a.LoadTaskAsync("t", ct))!.Revision, ct);
        await a.SaveTaskAsync(WithLogs("t", 2), ct);
        long stored = (await a.LoadTaskAsync("t", ct))!.Revision;
        int checks = 0;
        int updates = 0;

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await b.AppendTaskLogAsync("t", Entry("refused"), _ =>
        {
            checks++;
            throw new InvalidOperationException("quota: no more log entries");
        }, ct));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await b.UpdateTaskAsync("t", _ =>
        {
            updates++;
            throw new InvalidOperationException("no updates");
        }, ct));

        // Decided on B's copy and, when that trailed, once more on the store's version: never more.
        Assert.InRange(checks, 1, 2);
        Assert.InRange(updates, 1, 2);
        AgentTask? kept = await b.WaitForTaskAsync("t", stored, ct);
        Assert.Equal(stored, kept?.Revision);
        Assert.Equal(2, kept?.Logs.Count);
    }

    private static AgentTask WithLogs(string id, int entries) => new()
    {
        Id = id, Description = "d", Status = "pending", Logs = [.. Enumerable.Range(0, entries).Select(n => Entry("entry " + n.ToString(CultureInfo.InvariantCulture)))],
    };

    private static TaskLogEntry Entry(string message) => new() { Level = "info", Type = "output", Message = message };
}
