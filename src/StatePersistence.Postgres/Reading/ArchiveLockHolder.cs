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
    /// <summary>The holder's backend, application, address and connection time; null when no one holds the lock.</summary>
    public static async Task<string?> DescribeAsync(NpgsqlConnection connection, string schema, CancellationToken cancellationToken)
    {
        if (await PostgresSchema.AdvisoryLockHolderAsync(connection, PostgresStateStore.ArchiveRunLockKey(schema), cancellationToken).ConfigureAwait(false)
            is not { } pid)
        {
            return null;
        }

        await using var activity = new NpgsqlCommand(
            "SELECT coalesce(application_name, ''), coalesce(host(client_addr), 'local'), backend_start FROM pg_catalog.pg_stat_activity WHERE pid = $1",
            connection);
        activity.Parameters.AddWithValue(pid);
        await using NpgsqlDataReader reader = await activity.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? string.Create(CultureInfo.InvariantCulture,
                $"PostgreSQL backend {pid}, application '{reader.GetString(0)}' from {reader.GetString(1)}, connected since {reader.GetFieldValue<DateTimeOffset>(2).ToUniversalTime():yyyy-MM-ddTHH:mm:ssZ}")
            : string.Create(CultureInfo.InvariantCulture, $"PostgreSQL backend {pid}");
    }
}
