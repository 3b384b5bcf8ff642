using System.Globalization;
using StatePersistence.Commit;
using StatePersistence.Postgres.Changes;
using StatePersistence.Postgres.Listing;

namespace StatePersistence.Postgres.Reading;

/// <summary>
/// An item row's listing columns as read (<see cref="TaskListingColumns"/> writes them with the row), judged against
/// the value the row holds: <c>GET /api/tasks</c> filters and sorts by the columns, never by the JSON, so a column that
/// disagrees lists its task wrongly, and one filled beside a sealed row shows in clear what the seal hides.
/// </summary>
internal readonly record struct ListingColumns(string? Status, string? Tool, long? CreatedKey, long? UpdatedKey, bool Listed)
{
    /// <summary>What is wrong with the columns of <paramref name="row"/>, or null when nothing is.</summary>
    public string? Disagreement(ItemRow row, StoredItem? item)
    {
        (string? status, string? tool, long? created, long? updated, bool listed) = TaskListingColumns.Values(row, item);
        if (!listed)
        {
            if (!Listed && Status is null && Tool is null && CreatedKey is null && UpdatedKey is null)
            {
                return null;
            }

            string what = row.Kind == ChangeRows.Task ? $"the task '{row.Id}' is sealed" : $"the row is a {row.Kind}'s";
            return $"{what}, but its listing columns hold {Describe(this)}: they are filled only beside a task kept in clear, "
                + "and beside a sealed task they show its status, tool and times in clear (a row changed by hand?)";
        }

        if (!Listed)
        {
            // Written before the listing columns existed: the next instance to start fills them, and until then every
            // listing is answered from the instances' own state, so nothing is listed wrongly.
            return null;
        }

        var wrong = new List<string>();
        Compare(wrong, "status", Status, status, "status");
        Compare(wrong, "tool", Tool, tool, "tool");
        Compare(wrong, "created_key", CreatedKey, created, "created_at");
        Compare(wrong, "updated_key", UpdatedKey, updated, "updated_at");
        return wrong.Count == 0
            ? null
            : $"the listing columns of the task '{row.Id}' disagree with its JSON: {string.Join("; ", wrong)}. GET /api/tasks filters and sorts "
                + "by the columns, so it lists this task wrongly (a row changed by hand?)";
    }

    private static void Compare<T>(List<string> wrong, string column, T held, T expected, string field)
    {
        if (!EqualityComparer<T>.Default.Equals(held, expected))
        {
            wrong.Add($"{column} is {Show(held)} where its {field} gives {Show(expected)}");
        }
    }

    private static string Describe(ListingColumns columns) =>
        $"status {Show(columns.Status)}, tool {Show(columns.Tool)}, created_key {Show(columns.CreatedKey)}, updated_key {Show(columns.UpdatedKey)}, listed {(columns.Listed ? "true" : "false")}";

    private static string Show<T>(T value) => value switch
    {
        null => "null",
        string text => $"'{text}'",
        IFormattable number => number.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "null",
    };
}
