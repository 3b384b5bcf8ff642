using Npgsql;
using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests.Failures;

/// <summary>
/// A commit expecting a revision (an update, a task log append) whose connection is lost at its COMMIT asks the
/// database whether its transaction committed: when it did, its outcome is the committed one, with the revision and
/// feed position it took, so the caller does not repeat it (a task log entry logged twice); when the COMMIT never
/// arrived, it fails and nothing is stored. An answer lost is counted in the health details (<c>commit_answers_lost</c>).
/// Before 2026-12-07 both failed.
/// </summary>
public sealed class CommitAnswerLostTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ACommitWhoseAnswerWasLost_IsReportedCommitted_WithTheRevisionAndPositionItTook()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var proxy = new CommitCuttingProxy();
        await using var store = new PostgresStateStore(proxy.ConnectionString, schema.Name);
        await store.OpenAsync(Ct);
        long first = (await store.AppendAsync([[Store.Put("t1", ExpectedRevision.Absent, "one")]], Durability.Full, Ct))[0].Revision;

        Task cut = proxy.Arm(CommitCuttingProxy.Cut.AnswerLost);
        IReadOnlyList<CommitOutcome> outcomes = await store.AppendAsync(
            [[Store.Put("t1", ExpectedRevision.Exactly(first), "two")], [Store.Put("t2", ExpectedRevision.Absent, "new")]], Durability.Full, Ct);

        Assert.True(cut.IsCompleted, "the proxy did not cut the commit");
        Assert.All(outcomes, o => Assert.True(o.Committed));
        (long Revision, long Position, string Description) stored1 = await ReadDirectlyAsync(schema, "t1");
        (long Revision, long Position, string Description) stored2 = await ReadDirectlyAsync(schema, "t2");
        Assert.Equal((outcomes[0].Revision, "two"), (stored1.Revision, stored1.Description));
        Assert.Equal((outcomes[1].Revision, "new"), (stored2.Revision, stored2.Description));
        Assert.Equal(stored1.Position + 1, stored2.Position);
        Assert.Equal(1L, store.CheckHealth().Details["commit_answers_lost"]);
    }

    [Fact]
    public async Task ACommitThatNeverReachedTheDatabase_Fails_AndStoresNothing()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var proxy = new CommitCuttingProxy();
        await using var store = new PostgresStateStore(proxy.ConnectionString, schema.Name);
        await store.OpenAsync(Ct);
        long first = (await store.AppendAsync([[Store.Put("t1", ExpectedRevision.Absent, "one")]], Durability.Full, Ct))[0].Revision;

        Task cut = proxy.Arm(CommitCuttingProxy.Cut.CommitLost);
        StateStorageException failed = await Assert.ThrowsAsync<StateStorageException>(async () =>
            await store.AppendAsync([[Store.Put("t1", ExpectedRevision.Exactly(first), "two")]], Durability.Full, Ct));

        Assert.True(cut.IsCompleted, "the proxy did not cut the commit");
        Assert.True(failed.IsTransient);
        Assert.Equal((first, "one"), ((await ReadDirectlyAsync(schema, "t1")).Revision, (await ReadDirectlyAsync(schema, "t1")).Description));
        Assert.Equal(0L, store.CheckHealth().Details["commit_answers_lost"]);
    }

    /// <summary>A task's revision, its change's feed position and its description, read straight from the tables.</summary>
    private static async Task<(long Revision, long Position, string Description)> ReadDirectlyAsync(TestSchema schema, string id)
    {
        await using NpgsqlCommand read = PostgresServer.DataSource.CreateCommand($"""
            SELECT i.revision, c.position, i.body->>'description' FROM {schema.Name}.items i
            JOIN {schema.Name}.changes c ON c.revision = i.revision AND c.id = i.id WHERE i.kind = 'task' AND i.id = $1
            """);
        read.Parameters.AddWithValue(id);
        await using NpgsqlDataReader reader = await read.ExecuteReaderAsync(Ct);
        Assert.True(await reader.ReadAsync(Ct), $"no row of task '{id}'");
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2));
    }
}
