using Npgsql;
using NpgsqlTypes;
using StatePersistence.Commit;
using StatePersistence.Postgres.Changes;
using StatePersistence.Querying;

namespace StatePersistence.Postgres.Listing;

/// <summary>
/// The listing columns of an item row (<c>status</c>, <c>tool</c>, <c>created_key</c>, <c>updated_key</c>,
/// <c>listed</c>): filled for a task kept in clear (a <c>jsonb</c> body), null and unlisted for a sealed row or a
/// session, so nothing about a sealed task is readable beside it.
/// </summary>
internal static class TaskListingColumns
{
    public static void Add(NpgsqlParameterCollection parameters, ItemRow row, StoredItem? item)
    {
        (string? status, string? tool, long? created, long? updated, bool listed) = Values(row, item);
        parameters.Add(Text(status));
        parameters.Add(Text(tool));
        parameters.Add(Key(created));
        parameters.Add(Key(updated));
        parameters.Add(new NpgsqlParameter { Value = listed, NpgsqlDbType = NpgsqlDbType.Boolean });
    }

    /// <summary>The listing columns' values for <paramref name="row"/>, in the order above.</summary>
    public static (string? Status, string? Tool, long? CreatedKey, long? UpdatedKey, bool Listed) Values(ItemRow row, StoredItem? item) =>
        row.Kind == ChangeRows.Task && row.Body is not null && item is not null
            ? (item.Status, item.Tool, TaskListing.KeyOf(TaskSort.CreatedAt, item), TaskListing.KeyOf(TaskSort.UpdatedAt, item), true)
            : (null, null, null, null, false);

    private static NpgsqlParameter Text(string? value) => new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text };

    private static NpgsqlParameter Key(long? value) => new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint };
}
