using Npgsql;
using NpgsqlTypes;
using StatePersistence.Commit;
using StatePersistence.Querying;

namespace StatePersistence.Postgres.Listing;

/// <summary>
/// Lists the task rows kept in clear that were written before the listing columns existed, from the items an open
/// has just read. Only a row still at the revision read is touched, so a newer write by another instance (which lists
/// its row itself) is never overwritten.
/// </summary>
internal static class TaskListingBackfill
{
    public static async Task RunAsync(NpgsqlDataSource dataSource, string schema, IReadOnlyList<StoredItem> unlisted, CancellationToken cancellationToken)
    {
        if (unlisted.Count == 0)
        {
            return;
        }

        await using NpgsqlConnection connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var update = new NpgsqlCommand($"""
            UPDATE {schema}.items AS i
            SET status = u.status, tool = u.tool, created_key = u.created_key, updated_key = u.updated_key, listed = true
            FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::bigint[])
                AS u(id, revision, status, tool, created_key, updated_key)
            WHERE i.kind = 'task' AND i.id = u.id AND i.revision = u.revision AND NOT i.listed AND i.body IS NOT NULL
            """, connection);
        update.Parameters.Add(Array(unlisted.Select(i => i.Id), NpgsqlDbType.Text));
        update.Parameters.Add(Array(unlisted.Select(i => i.Revision), NpgsqlDbType.Bigint));
        update.Parameters.Add(Array(unlisted.Select(i => i.Status), NpgsqlDbType.Text));
        update.Parameters.Add(Array(unlisted.Select(i => i.Tool), NpgsqlDbType.Text));
        update.Parameters.Add(Array(unlisted.Select(i => TaskListing.KeyOf(TaskSort.CreatedAt, i)), NpgsqlDbType.Bigint));
        update.Parameters.Add(Array(unlisted.Select(i => TaskListing.KeyOf(TaskSort.UpdatedAt, i)), NpgsqlDbType.Bigint));
        await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static NpgsqlParameter Array<T>(IEnumerable<T> values, NpgsqlDbType type) =>
        new() { Value = values.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | type };
}
