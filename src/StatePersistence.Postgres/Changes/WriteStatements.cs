using Npgsql;
using NpgsqlTypes;
using StatePersistence.Commit;
using StatePersistence.Postgres.Listing;

namespace StatePersistence.Postgres.Changes;

/// <summary>
/// The statement that writes one change of a group: its row in the change log and the item's row (an upsert, or a
/// delete), in one statement, so the body is parsed once and one statement per change crosses the wire. The revision
/// is an SQL expression the caller chooses: the group's first statement takes it from the sequence
/// (<see cref="TakeRevision"/>) and the later ones reuse it (<see cref="SameRevision"/>), or it is a value the caller
/// took before (<see cref="GivenRevision"/>). The feed position is one too: after the highest for the group's first
/// statement (<see cref="NextPosition"/>), the same for its later ones (<see cref="SamePosition"/>), both only under the
/// feed's lock, or none, for a reader to give later (<see cref="NoPosition"/>). Each statement returns the revision and
/// the position it wrote as <c>written_revision</c> and <c>written_position</c>.
/// </summary>
internal sealed class WriteStatements(string schema)
{
    /// <summary>The name of the column each write statement returns.</summary>
    public const string WrittenRevision = "written_revision";

    /// <summary>The name of the other column each write statement returns (null when it gave no position).</summary>
    public const string WrittenPosition = "written_position";

    /// <summary>No position: a reader numbers the row after its transaction committed.</summary>
    public const string NoPosition = "NULL";

    private readonly string?[] _sql = new string?[36];

    /// <summary>A new revision from the sequence: the group's first statement.</summary>
    public string TakeRevision { get; } = $"nextval('{schema}.revisions')";

    /// <summary>
    /// The revision the session took last (<c>currval</c>): the group's later statements, which run after its first in
    /// the same session, with no other statement taking one in between.
    /// </summary>
    public string SameRevision { get; } = $"currval('{schema}.revisions')";

    /// <summary>A revision the caller took before: parameter 11 of the statement.</summary>
    public const string GivenRevision = "$11";

    /// <summary>
    /// The position after the highest the log holds or held (the horizon keeps the highest pruned one): a group's first
    /// statement, under the feed's lock, which no other numbering holds until this transaction ends.
    /// </summary>
    public string NextPosition { get; } =
        $"(SELECT greatest(coalesce(max(position), 0), (SELECT position FROM {schema}.feed_horizon)) + 1 FROM {schema}.changes)";

    /// <summary>The position the group's first statement gave (the highest now): its later statements.</summary>
    public string SamePosition { get; } = $"(SELECT max(position) FROM {schema}.changes)";

    /// <summary>
    /// The statement writing <paramref name="row"/>, change <paramref name="ordinal"/> of its group, under the revision
    /// <paramref name="revision"/> (one of the expressions above; <paramref name="given"/> is the value for
    /// <see cref="GivenRevision"/>). <paramref name="item"/> fills the listing columns.
    /// </summary>
    public NpgsqlBatchCommand Write(ItemRow row, int ordinal, StoredItem? item, string revision, string position, long? given = null)
    {
        var write = new NpgsqlBatchCommand(Sql(row, revision, position));
        write.Parameters.Add(new NpgsqlParameter { Value = ordinal, NpgsqlDbType = NpgsqlDbType.Integer });
        write.Parameters.Add(Text(row.Kind));
        write.Parameters.Add(Text(row.Id));
        write.Parameters.Add(JsonText(row.Body));
        write.Parameters.Add(new NpgsqlParameter { Value = (object?)row.Sealed ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bytea });
        TaskListingColumns.Add(write.Parameters, row, item);
        if (given is { } value)
        {
            write.Parameters.Add(new NpgsqlParameter { Value = value, NpgsqlDbType = NpgsqlDbType.Bigint });
        }

        return write;
    }

    /// <summary>
    /// A JSON text parameter from its UTF-8 bytes (Npgsql writes them as the text's bytes, so no string is built):
    /// what a <c>$n::jsonb</c> reads.
    /// </summary>
    internal static NpgsqlParameter JsonText(byte[]? utf8) => new() { Value = (object?)utf8 ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text };

    /// <summary>
    /// The text of a write statement. There are 36 (a delete or an upsert, a clear body of an item or of the
    /// application's properties, three revision and three position expressions), each built once: formatting the 600
    /// characters for every change was about a seventh of what a save allocated.
    /// </summary>
    private string Sql(ItemRow row, string revision, string position)
    {
        bool delete = row.Body is null && row.Sealed is null;
        bool extras = row.Kind == ChangeRows.Extras;
        int revisionSlot = revision == GivenRevision ? 0 : revision == TakeRevision ? 1 : revision == SameRevision ? 2
            : throw new ArgumentException($"Unknown revision expression '{revision}'.", nameof(revision));
        int positionSlot = position == NoPosition ? 0 : position == NextPosition ? 1 : position == SamePosition ? 2
            : throw new ArgumentException($"Unknown position expression '{position}'.", nameof(position));
        int slot = (((revisionSlot * 3) + positionSlot) * 4) + (delete ? 2 : 0) + (extras ? 1 : 0);
        return _sql[slot] ??= Build(revision, position, delete, Body(row));
    }

    private string Build(string revision, string position, bool delete, string body)
    {
        // Each write is its own data-modifying CTE; both run whatever the final SELECT reads (PostgreSQL's rule).
        string itemWrite = delete
            ? $"DELETE FROM {schema}.items WHERE kind = $2 AND id = $3"
            : $"""
                INSERT INTO {schema}.items (kind, id, revision, body, sealed, status, tool, created_key, updated_key, listed)
                SELECT $2, $3, c.revision, c.body, c.sealed, $6, $7, $8, $9, $10 FROM c
                ON CONFLICT (kind, id) DO UPDATE SET revision = excluded.revision, body = excluded.body, sealed = excluded.sealed,
                    status = excluded.status, tool = excluded.tool, created_key = excluded.created_key,
                    updated_key = excluded.updated_key, listed = excluded.listed
                """;
        return $"""
            WITH c AS (INSERT INTO {schema}.changes (revision, ordinal, kind, id, body, sealed, position, numbered_at)
                       VALUES ({revision}, $1, $2, $3, {body}, $5, {position}, {(position == NoPosition ? "NULL" : "clock_timestamp()")})
                       RETURNING revision, body, sealed, position),
                 w AS ({itemWrite})
            SELECT revision AS {WrittenRevision}, position AS {WrittenPosition} FROM c
            """;
    }

    /// <summary>
    /// The body parameter (<c>$</c><paramref name="parameter"/>) as <c>jsonb</c>: a task's or session's without its
    /// revision (its own column holds it), the application's own properties as they are (one of them may be called
    /// revision). The re-encryption writes rows back to clear text with it too.
    /// </summary>
    internal static string Body(ItemRow row, int parameter = 4) =>
        row.Kind == ChangeRows.Extras ? $"${parameter}::jsonb" : $"${parameter}::jsonb - 'revision'";

    private static NpgsqlParameter Text(string? value) => new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text };
}
