using Npgsql;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests;

/// <summary>
/// A store built from a connection string writes through a pool whose connections are not reset when they go back
/// (<c>No Reset On Close</c>: Npgsql's reset costs every commit a few statements). That is only sound if the writer
/// leaves nothing in its session: no transaction left open, no lock held past its transaction, whatever the outcome.
/// </summary>
public sealed class WriterSessionTests
{
    [Fact]
    public async Task TheWriter_LeavesNoTransactionAndNoLock_AfterACommit_AConflict_OrAFailure()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        string application = "writer-session-" + Guid.NewGuid().ToString("N")[..12];
        // One connection in each of the store's pools, so every append reuses the writer's one connection.
        await using var store = new PostgresStateStore($"{PostgresServer.ConnectionString};Maximum Pool Size=1;Application Name={application}", schema.Name);
        await store.OpenAsync(ct);

        Assert.True((await store.AppendAsync([[Store.Put("t1", ExpectedRevision.Absent)]], Durability.Full, ct))[0].Committed);
        await AssertIdleWithoutLocksAsync(application, ct);

        // Refused: the conflict reads the current item in the transaction, then rolls it back.
        Assert.False((await store.AppendAsync([[Store.Put("t1", ExpectedRevision.Absent)]], Durability.Full, ct))[0].Committed);
        await AssertIdleWithoutLocksAsync(application, ct);

        // Failed inside the writing batch (a trigger refuses the change row), after the item and feed locks were taken.
        await using (NpgsqlCommand refuse = PostgresServer.DataSource.CreateCommand($"""
            CREATE FUNCTION {schema.Name}.refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
            CREATE TRIGGER refuse BEFORE INSERT ON {schema.Name}.changes FOR EACH ROW EXECUTE FUNCTION {schema.Name}.refuse();
            """))
        {
            await refuse.ExecuteNonQueryAsync(ct);
        }

        await Assert.ThrowsAnyAsync<Exception>(async () => await store.AppendAsync([[Store.Put("t2", ExpectedRevision.Any)]], Durability.Full, ct));
        await AssertIdleWithoutLocksAsync(application, ct);

        // And the connection, not reset, writes on as before.
        await using (NpgsqlCommand allow = PostgresServer.DataSource.CreateCommand($"DROP TRIGGER refuse ON {schema.Name}.changes"))
        {
            await allow.ExecuteNonQueryAsync(ct);
        }

        CommitOutcome after = (await store.AppendAsync([[Store.Put("t2", ExpectedRevision.Absent)]], Durability.Full, ct))[0];
        Assert.True(after.Committed);
        await AssertIdleWithoutLocksAsync(application, ct);
    }

    /// <summary>Every backend of the store is idle outside a transaction and holds no advisory lock.</summary>
    private static async Task AssertIdleWithoutLocksAsync(string application, CancellationToken ct)
    {
        await using NpgsqlCommand look = PostgresServer.DataSource.CreateCommand("""
            SELECT a.pid, a.state, a.backend_xid IS NOT NULL,
                   (SELECT count(*) FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory')
            FROM pg_stat_activity a WHERE a.application_name = $1
            """);
        look.Parameters.AddWithValue(application);
        var backends = new List<string>();
        await using NpgsqlDataReader reader = await look.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            backends.Add($"{reader.GetInt32(0)}: {reader.GetString(1)}, xid {reader.GetBoolean(2)}, advisory locks {reader.GetInt64(3)}");
            Assert.True(reader.GetString(1) == "idle" && !reader.GetBoolean(2) && reader.GetInt64(3) == 0, string.Join("; ", backends));
        }

        Assert.NotEmpty(backends);
    }
}
