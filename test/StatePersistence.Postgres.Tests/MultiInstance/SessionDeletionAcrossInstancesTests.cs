using StatePersistence.Conformance;
using StatePersistence.Model;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests.MultiInstance;

/// <summary>
/// A session's deletion on instance A (its record, then its log) while instance B, on the same schema, creates the
/// session anew and appends to its log between A's two steps. Before, only A's own appends waited for the deletion:
/// B's append landed at once and A's second step deleted it, the new session left with no log.
/// </summary>
public sealed class SessionDeletionAcrossInstancesTests
{
    [Fact]
    public async Task ASessionCreatedAnewOnAnotherInstanceBetweenTheDeletionsTwoSteps_KeepsItsNewLog()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        var options = new StatePersistenceOptions();
        var storeA = new PostgresStateStore(PostgresServer.ConnectionString, schema.Name, options.ResolvePayloadCodec(hasStateDirectory: false));
        var held = new HeldLogDeletion(storeA);
        await using var a = new StatePersistenceService(options, storeA, blobs: held);
        await a.StartAsync(ct);
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await a.SaveSessionAsync(new SessionInfo { Id = "s1", Status = "active" }, ct);
        await a.AppendSessionLogAsync("s1", "old session\n", ct);

        Task<bool> deletion = a.DeleteSessionAsync("s1", ct).AsTask();
        await held.Reached.Task.WaitAsync(ct);
        Assert.Null(await b.LoadLatestSessionAsync("s1", ct));
        await b.SaveSessionAsync(new SessionInfo { Id = "s1", Status = "new" }, ct);
        Task append = b.AppendSessionLogAsync("s1", "new session\n", ct).AsTask();

        // Released once B's append has either landed (as it did before) or is seen waiting for a lock.
        await Task.WhenAny(append, Eventually.UntilAsync(() => AWriteOnTheSchemaWaitsForALockAsync(schema.Name, ct)));
        held.Release.SetResult();

        Assert.True(await deletion);
        await append;
        Assert.Equal("new session\n", await b.ReadSessionLogAsync("s1", ct));
        Assert.Equal("new session\n", await a.ReadSessionLogAsync("s1", ct));
        Assert.Equal("new", (await a.LoadLatestSessionAsync("s1", ct))!.Status);
    }

    /// <summary>Whether a backend runs a statement naming <paramref name="schema"/> that waits for a lock not granted yet.</summary>
    private static async Task<bool> AWriteOnTheSchemaWaitsForALockAsync(string schema, CancellationToken ct)
    {
        await using Npgsql.NpgsqlCommand command = PostgresServer.DataSource.CreateCommand("""
            SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_stat_activity s ON s.pid = l.pid
                           WHERE NOT l.granted AND s.query LIKE '%' || $1 || '.%')
            """);
        command.Parameters.AddWithValue(schema);
        return (bool)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary>A's store, its log deletion held at <see cref="Reached"/> until <see cref="Release"/>; its hold of appends forwarded.</summary>
    private sealed class HeldLogDeletion(IStateBlobStore inner) : FirstContractBlobStore(inner), IStateBlobStore
    {
        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async ValueTask DeleteSessionLogAsync(string sessionId, CancellationToken cancellationToken = default)
        {
            Reached.TrySetResult();
            await Release.Task.WaitAsync(cancellationToken);
            await Inner.DeleteSessionLogAsync(sessionId, cancellationToken);
        }

        public ValueTask<IAsyncDisposable> HoldSessionLogAppendsAsync(string sessionId, CancellationToken cancellationToken = default) =>
            Inner.HoldSessionLogAppendsAsync(sessionId, cancellationToken);
    }
}
