using Npgsql;
using StatePersistence.Postgres.Schema;
using StatePersistence.Postgres.Tests.Support;

namespace StatePersistence.Postgres.Tests.Upgrade;

/// <summary>
/// A test schema put back to version 2, as a build from before the bounded change log left it (no <c>numbered_at</c>,
/// no <c>feed_horizon</c>, no key id function and indexes, no session log sizes, no report counters), with one task written as such a build wrote it; and the
/// writes and waits the upgrade tests need around it.
/// </summary>
internal static class OlderSchema
{
    public static async Task<TestSchema> CreateVersion2Async(CancellationToken ct)
    {
        TestSchema schema = await PostgresServer.NewSchemaAsync();
        await PostgresSchema.EnsureAsync(PostgresServer.DataSource, schema.Name, ct);
        await ExecuteAsync($"""
            {OlderSchema.DropVersion5(schema.Name)}
            DROP FUNCTION {schema.Name}.payload_key_id(bytea) CASCADE;
            DROP TABLE {schema.Name}.feed_horizon;
            ALTER TABLE {schema.Name}.changes DROP COLUMN numbered_at;
            DELETE FROM {schema.Name}.schema_version WHERE version > 2;
            """, ct);
        await using NpgsqlConnection writer = await PostgresServer.DataSource.OpenConnectionAsync(ct);
        await using NpgsqlTransaction transaction = await writer.BeginTransactionAsync(ct);
        await WriteItemAsync(writer, transaction, schema.Name, "before", ct);
        await WriteChangeAsync(writer, transaction, schema.Name, "before", ct);
        await transaction.CommitAsync(ct);
        return schema;
    }

    /// <summary>The SQL that takes <paramref name="schema"/>'s version 9 away (the damaged report marks).</summary>
    public static string DropVersion9(string schema) => $"""
        DROP FUNCTION {schema}.mark_damaged_report(text, xid, text);
        DROP TABLE {schema}.damaged_reports;
        """;

    /// <summary>The SQL that takes <paramref name="schema"/>'s version 8 away (the task archives); version 9 first.</summary>
    public static string DropVersion8(string schema) => DropVersion9(schema) + $"""
        DROP TABLE {schema}.task_archives;
        """;

    /// <summary>The SQL that takes <paramref name="schema"/>'s version 7 away (the session log parts and the retention functions); version 8 first.</summary>
    public static string DropVersion7(string schema) => DropVersion8(schema) + $"""
        DROP FUNCTION {schema}.claim_retention_pass(interval);
        DROP TABLE {schema}.retention_passes;
        DROP FUNCTION {schema}.cap_session_log(text, bigint, integer);
        DROP FUNCTION {schema}.session_logs_larger_than(bigint);
        CREATE OR REPLACE FUNCTION {schema}.session_log_bytes(of_session text) RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER
            SET search_path = pg_catalog, pg_temp AS $$
            SELECT coalesce(sum(bytes), 0)::bigint FROM {schema}.session_log_sizes WHERE session_id = of_session
        $$;
        CREATE OR REPLACE FUNCTION {schema}.count_session_log_bytes() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
            SET search_path = pg_catalog, pg_temp AS $$
        BEGIN
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                UPDATE {schema}.session_log_sizes SET bytes = bytes - octet_length(OLD.payload)
                    WHERE session_id = OLD.session_id AND stripe = OLD.segment % 16;
            END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN
                INSERT INTO {schema}.session_log_sizes AS s (session_id, stripe, bytes)
                    VALUES (NEW.session_id, NEW.segment % 16, octet_length(NEW.payload))
                    ON CONFLICT (session_id, stripe) DO UPDATE SET bytes = s.bytes + excluded.bytes;
            END IF;
            RETURN NULL;
        END
        $$;
        DROP TABLE {schema}.session_log_parts;
        """;

    /// <summary>The SQL that takes <paramref name="schema"/>'s version 6 away (the report index and counters); version 7 first.</summary>
    public static string DropVersion6(string schema) => DropVersion7(schema) + $"""
        DROP TRIGGER reports_count ON {schema}.reports;
        DROP TRIGGER reports_count_truncate ON {schema}.reports;
        DROP FUNCTION {schema}.count_reports();
        DROP FUNCTION {schema}.report_count();
        DROP TABLE {schema}.report_counts;
        DROP INDEX {schema}.reports_by_id;
        """;

    /// <summary>The SQL that takes <paramref name="schema"/>'s version 5 away (the session log sizes and their trigger); version 6 first.</summary>
    public static string DropVersion5(string schema) => DropVersion6(schema) + $"""
        DROP TRIGGER session_log_bytes ON {schema}.session_logs;
        DROP FUNCTION {schema}.count_session_log_bytes();
        DROP FUNCTION {schema}.session_log_bytes(text);
        DROP TABLE {schema}.session_log_sizes;
        """;

    /// <summary>The item row of a put, as an earlier build's writer wrote it (its first statement of the two).</summary>
    public static async Task WriteItemAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string schema, string id, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand($"""
            INSERT INTO {schema}.items (kind, id, revision, body) VALUES ('task', $1, nextval('{schema}.revisions'), $2::jsonb)
            ON CONFLICT (kind, id) DO UPDATE SET revision = excluded.revision, body = excluded.body
            """, connection, transaction);
        command.Parameters.AddWithValue(id);
        command.Parameters.AddWithValue($$"""{"id":"{{id}}","description":"d","status":"pending"}""");
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>The change row of a put, without a position, as an earlier build's writer wrote it.</summary>
    public static async Task WriteChangeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string schema, string id, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand($"""
            INSERT INTO {schema}.changes (revision, ordinal, kind, id, body)
            SELECT revision, 0, kind, id, body FROM {schema}.items WHERE kind = 'task' AND id = $1
            """, connection, transaction);
        command.Parameters.AddWithValue(id);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Waits until a session of <paramref name="applicationName"/> waits for a lock.</summary>
    public static async Task WaitUntilWaitingForALockAsync(string applicationName, Task running, CancellationToken ct)
    {
        while (true)
        {
            await using NpgsqlCommand waiting = PostgresServer.DataSource.CreateCommand(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'");
            waiting.Parameters.AddWithValue(applicationName);
            if ((long)(await waiting.ExecuteScalarAsync(ct))! > 0)
            {
                return;
            }

            Assert.False(running.IsCompleted, $"'{applicationName}' ended before it waited for a lock: {running.Exception?.GetBaseException().Message}");
            await Task.Delay(10, ct);
        }
    }

    /// <summary>A connection string of the test server under <paramref name="applicationName"/> (and more settings).</summary>
    public static string ConnectionString(string applicationName, int? commandTimeoutSeconds = null)
    {
        var builder = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString) { ApplicationName = applicationName };
        if (commandTimeoutSeconds is { } seconds)
        {
            builder.CommandTimeout = seconds;
        }

        return builder.ConnectionString;
    }

    public static async Task<long> ScalarAsync(string sql, CancellationToken ct)
    {
        await using NpgsqlCommand command = PostgresServer.DataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
    }

    public static async Task ExecuteAsync(string sql, CancellationToken ct)
    {
        await using NpgsqlCommand command = PostgresServer.DataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync(ct);
    }
}
