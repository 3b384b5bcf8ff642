using StatePersistence.Postgres.Schema;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Postgres.Tests.Upgrade;
using StatePersistence.Storage;
using static StatePersistence.Postgres.Tests.Upgrade.OlderSchema;

namespace StatePersistence.Postgres.Tests;

/// <summary>
/// A session log's size as stored (what the server's <c>MaxSessionLogBytes</c> quota checks before every append) is
/// kept by a trigger in <c>session_log_sizes</c> (schema version 5), not summed over the log's rows at each append:
/// it follows every insert, rewrite and removal of a row, whoever makes it, and the upgrade counts the rows already
/// there. Sixteen counters a log (by segment), so appends on several connections do not wait on one row lock.
/// </summary>
public sealed class SessionLogSizeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TheSize_FollowsEveryAppend_Rewrite_AndRemovalOfARow_WhoeverMakesIt()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var store = new PostgresStateStore(PostgresServer.DataSource, schema.Name);
        await store.OpenAsync(Ct);
        Assert.Equal(0, await store.SessionLogSizeAsync("s1", Ct));

        await SessionLogRows.AppendAsync(store, "s1", "one\n", "two\n", "three\n");
        await SessionLogRows.AppendAsync(store, "s2", "other\n");
        await AssertSizesAsync(store, schema);

        // A rewrite of a payload (as the re-encryption makes), a row written by hand (an earlier build), a removal.
        await ExecuteAsync($"UPDATE {schema.Name}.session_logs SET payload = payload || 'longer'::bytea WHERE session_id = 's1' AND segment = (SELECT min(segment) FROM {schema.Name}.session_logs WHERE session_id = 's1')", Ct);
        await ExecuteAsync($"INSERT INTO {schema.Name}.session_logs (session_id, payload) VALUES ('s1', 'by hand'::bytea)", Ct);
        await ExecuteAsync($"DELETE FROM {schema.Name}.session_logs WHERE session_id = 's2'", Ct);
        await AssertSizesAsync(store, schema);
        Assert.Equal(0, await store.SessionLogSizeAsync("s2", Ct));
    }

    /// <summary>
    /// A deleted log leaves no size counters behind: its sixteen rows stayed at zero for every log ever deleted (an
    /// audit found 731 rows for 106 deleted sessions). A log appended to again counts from zero.
    /// </summary>
    [Fact]
    public async Task ADeletedLog_LeavesNoSizeCountersBehind()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var store = new PostgresStateStore(PostgresServer.DataSource, schema.Name);
        await store.OpenAsync(Ct);
        await SessionLogRows.AppendAsync(store, "s1", "one\n", "two\n", "three\n");
        await SessionLogRows.AppendAsync(store, "s2", "other\n");

        await ((IStateBlobStore)store).DeleteSessionLogAsync("s1", Ct);

        Assert.Equal(0L, (long)await ScalarAsync($"SELECT count(*) FROM {schema.Name}.session_log_sizes WHERE session_id = 's1'", Ct));
        Assert.Equal(0, await store.SessionLogSizeAsync("s1", Ct));
        await AssertSizesAsync(store, schema);
        await SessionLogRows.AppendAsync(store, "s1", "again\n");
        await AssertSizesAsync(store, schema);
    }

    [Fact]
    public async Task TheUpgradeToVersion5_CountsTheRowsAlreadyThere()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using (var before = new PostgresStateStore(PostgresServer.DataSource, schema.Name))
        {
            await before.OpenAsync(Ct);
            await SessionLogRows.AppendAsync(before, "s1", "one\n", "two\n");
            await SessionLogRows.AppendAsync(before, "s2", "other\n");
        }

        await ExecuteAsync($"""
            {OlderSchema.DropVersion5(schema.Name)}
            DELETE FROM {schema.Name}.schema_version WHERE version > 4;
            INSERT INTO {schema.Name}.session_logs (session_id, payload) VALUES ('s1', 'written at version 4'::bytea);
            """, Ct);

        Assert.Equal(4, await PostgresSchema.EnsureAsync(PostgresServer.DataSource, schema.Name, Ct));
        await using var store = new PostgresStateStore(PostgresServer.DataSource, schema.Name);
        await store.OpenAsync(Ct);
        await AssertSizesAsync(store, schema);
        Assert.Equal(PostgresSchema.CurrentVersion, (int)await ScalarAsync($"SELECT max(version) FROM {schema.Name}.schema_version", Ct));
    }

    [Fact]
    public async Task AnAppendNotYetCommitted_DoesNotHoldUpTheNextAppendToTheSameLog()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var store = new PostgresStateStore(PostgresServer.DataSource, schema.Name);
        await store.OpenAsync(Ct);
        await SessionLogRows.AppendAsync(store, "s1", "one\n");

        // Its counter is the one of its segment; the next append's segment counts on the next one.
        await using Npgsql.NpgsqlConnection stalled = await PostgresServer.DataSource.OpenConnectionAsync(Ct);
        await using Npgsql.NpgsqlTransaction transaction = await stalled.BeginTransactionAsync(Ct);
        await using (var insert = new Npgsql.NpgsqlCommand($"INSERT INTO {schema.Name}.session_logs (session_id, payload) VALUES ('s1', 'in flight'::bytea)", stalled, transaction))
        {
            await insert.ExecuteNonQueryAsync(Ct);
        }

        // Held up, it would fail after the Command Timeout (30 s), waiting for the row lock of the stalled one.
        await SessionLogRows.AppendAsync(store, "s1", "two\n");
        await transaction.CommitAsync(Ct);
        await AssertSizesAsync(store, schema);
    }

    private static async Task AssertSizesAsync(PostgresStateStore store, TestSchema schema)
    {
        foreach (string id in new[] { "s1", "s2" })
        {
            long summed = await ScalarAsync($"SELECT coalesce(sum(octet_length(payload)), 0)::bigint FROM {schema.Name}.session_logs WHERE session_id = '{id}'", Ct);
            Assert.Equal(summed, await store.SessionLogSizeAsync(id, Ct));
        }
    }
}
