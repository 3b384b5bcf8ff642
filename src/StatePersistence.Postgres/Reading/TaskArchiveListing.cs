using Npgsql;
using NpgsqlTypes;
using StatePersistence.Retention;

namespace StatePersistence.Postgres.Reading;

/// <summary>
/// The rows of <c>task_archives</c> as a listing shows them, from their columns alone: <c>octet_length(content)</c> is
/// read from the out-of-line value's pointer, not the value, so no archive is read. One query for the store's
/// <see cref="PostgresStateStore.ListTaskArchivesAsync"/> and the operator's <see cref="PostgresTaskArchiveReader"/>.
/// </summary>
internal static class TaskArchiveListing
{
    /// <summary>
    /// Every archive in name order (ordinal), or with <paramref name="holding"/> only those whose <c>task_ids</c> hold one
    /// of them (the GIN index).
    /// </summary>
    public static async Task<List<TaskArchiveInfo>> ReadAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string schema,
        IReadOnlyCollection<string>? holding, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            $"""
            SELECT name, octet_length(content), cardinality(task_ids), created_at FROM {schema}.task_archives
            {(holding is null ? "" : "WHERE task_ids && $1")} ORDER BY name COLLATE "C"
            """, connection, transaction);
        if (holding is not null)
        {
            // An id holding NUL (text cannot) or a lone surrogate (Npgsql cannot encode it) is in no archive, whose ids are
            // valid ids: left out, it matches none, as a directory's listing answers. Sent, it failed the listing (before
            // 2026-12-07: TaskArchiveListingOfOddIdsTests). With none left, the empty array matches no row.
            string[] ids = [.. holding.Where(id => !Listing.ListingText.IsUnsendable(id))];
            command.Parameters.Add(new NpgsqlParameter { Value = ids, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        }

        var archives = new List<TaskArchiveInfo>();
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            archives.Add(new TaskArchiveInfo(reader.GetString(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetFieldValue<DateTimeOffset>(3)));
        }

        return archives;
    }
}
