using System.Globalization;
using Npgsql;
using StatePersistence.Postgres.Schema;

namespace StatePersistence.Postgres.Reading;

/// <summary>
/// Who holds a schema's task archive lock, as <c>pg_stat_activity</c> shows the backend: what an instance's run logs
/// and <c>statectl</c> prints before waiting its turn (<see cref="PostgresStateStore.ArchiveRunLockKey"/>).
/// </summary>
internal static class ArchiveLockHolder
{
    /// <summary>
    /// The holder's backend, application, address and connection time (only its backend and role when this session's
    /// role may not see another role's details); null when no one holds the lock.
    /// </summary>
    public static async Task<string?> DescribeAsync(NpgsqlConnection connection, string schema, CancellationToken cancellationToken)
    {
        if (await PostgresSchema.AdvisoryLockHolderAsync(connection, PostgresStateStore.ArchiveRunLockKey(schema), cancellationToken).ConfigureAwait(false)
            is not { } pid)
        {
            return null;
        }

        await using var activity = new NpgsqlCommand(
            "SELECT application_name, host(client_addr), backend_start, usename FROM pg_catalog.pg_stat_activity WHERE pid = $1", connection);
        activity.Parameters.AddWithValue(pid);
        await using NpgsqlDataReader reader = await activity.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return string.Create(CultureInfo.InvariantCulture, $"PostgreSQL backend {pid}");
        }

        string role = reader.IsDBNull(3) ? "?" : reader.GetString(3);
        if (reader.IsDBNull(2))
        {
            // Another role's session, seen by a role without pg_read_all_stats: PostgreSQL shows its pid and role, and
            // leaves its application, address and start null.
            return string.Create(CultureInfo.InvariantCulture,
                $"PostgreSQL backend {pid} of role '{role}' (its application and address are shown only to a role with pg_read_all_stats)");
        }

        string application = reader.IsDBNull(0) ? "" : reader.GetString(0);
        string from = reader.IsDBNull(1) ? "local" : reader.GetString(1);
        return string.Create(CultureInfo.InvariantCulture,
            $"PostgreSQL backend {pid}, application '{application}' from {from}, connected since {reader.GetFieldValue<DateTimeOffset>(2).ToUniversalTime():yyyy-MM-ddTHH:mm:ssZ}");
    }
}
