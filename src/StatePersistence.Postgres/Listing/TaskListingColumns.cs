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
        bool listed = row.Kind == ChangeRows.Task && row.Body is not null && item is not null;
        parameters.Add(Text(listed ? item!.Status : null));
        parameters.Add(Text(listed ? item!.Tool : null));
        parameters.Add(Key(listed ? TaskListing.KeyOf(TaskSort.CreatedAt, item!) : null));
        parameters.Add(Key(listed ? TaskListing.KeyOf(TaskSort.UpdatedAt, item!) : null));
        parameters.Add(new NpgsqlParameter { Value = listed, NpgsqlDbType = NpgsqlDbType.Boolean });
    }

    private static NpgsqlParameter Text(string? value) => new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text };

    private static NpgsqlParameter Key(long? value) => new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint };
}
