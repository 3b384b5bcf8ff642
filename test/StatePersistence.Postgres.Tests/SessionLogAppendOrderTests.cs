using Npgsql;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests;

/// <summary>
/// Concurrent appends to one session log commit in the order of their segments, so the log only grows at its end as
/// readers see it: every read is the start of every later read. Before 2026-12-07 an append took its segment at its
/// insert, unlocked, and a later append could commit first: a read between saw the later text, then the earlier
/// text appeared in the middle (a client tailing with <c>Range</c> from the length it saw got shifted text).
/// </summary>
public sealed class SessionLogAppendOrderTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AnAppendHeldBeforeItsCommit_KeepsALaterAppendToTheSameLogFromShowingBeforeIt()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var store = new PostgresStateStore(PostgresServer.DataSource, schema.Name);
        await store.OpenAsync(Ct);
        await SessionLogRows.AppendAsync(store, "s1", "one\n");

        // The first append to run the trigger after this stalls, its segment taken, until the test lets it go; the
        // appends after it pass (the first holds the try lock to its end).
        await using NpgsqlConnection gate = await PostgresServer.DataSource.OpenConnectionAsync(Ct);
        await ExecuteAsync(gate, $"""
            CREATE FUNCTION {schema.Name}.stall_first_append() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF pg_try_advisory_xact_lock(hashtext('{schema.Name}.stall'), 1) THEN
                    PERFORM pg_advisory_xact_lock_shared(hashtext('{schema.Name}.stall'), 2);
                END IF;
                RETURN NEW;
            END
            $$;
            CREATE TRIGGER stall_first_append AFTER INSERT ON {schema.Name}.session_logs FOR EACH ROW EXECUTE FUNCTION {schema.Name}.stall_first_append();
            SELECT pg_advisory_lock(hashtext('{schema.Name}.stall'), 2);
            """);

        Task first = store.AppendSessionLogAsync("s1", "two\n"u8.ToArray(), Durability.Full, Ct).AsTask();
        await WaitUntilAsync(async () => await LockWaitsAsync(gate, schema) >= 1);
        Task second = store.AppendSessionLogAsync("s1", "three\n"u8.ToArray(), Durability.Full, Ct).AsTask();
        // The second either committed (before the fix) or waits for the first one's lock.
        await WaitUntilAsync(async () => second.IsCompleted || await LockWaitsAsync(gate, schema) >= 2);

        string between = await ReadAsync(store);
        await ExecuteAsync(gate, $"SELECT pg_advisory_unlock(hashtext('{schema.Name}.stall'), 2)");
        await Task.WhenAll(first, second);
        string after = await ReadAsync(store);

        Assert.Equal("one\ntwo\nthree\n", after);
        Assert.StartsWith(between, after, StringComparison.Ordinal);
    }

    /// <summary>Backends of this schema's statements waiting for an advisory lock.</summary>
    private static async Task<long> LockWaitsAsync(NpgsqlConnection connection, TestSchema schema)
    {
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory' AND position($1 in query) > 0", connection);
        command.Parameters.AddWithValue(schema.Name + ".");
        return (long)(await command.ExecuteScalarAsync(Ct))!;
    }

    private static async Task<string> ReadAsync(PostgresStateStore store) =>
        System.Text.Encoding.UTF8.GetString((await store.ReadSessionLogAsync("s1", Ct))!);

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(Ct);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        while (!await condition())
        {
            await Task.Delay(10, Ct);
        }
    }
}
