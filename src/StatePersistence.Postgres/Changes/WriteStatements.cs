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
/// took before (<see cref="GivenRevision"/>). Each statement returns the revision it wrote as <c>written_revision</c>.
/// </summary>
internal sealed class WriteStatements(string schema)
{
    /// <summary>The name of the column each write statement returns.</summary>
    public const string WrittenRevision = "written_revision";

    private readonly string?[] _sql = new string?[12];

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
    /// The statement writing <paramref name="row"/>, change <paramref name="ordinal"/> of its group, under the revision
    /// <paramref name="revision"/> (one of the expressions above; <paramref name="given"/> is the value for
    /// <see cref="GivenRevision"/>). <paramref name="item"/> fills the listing columns.
    /// </summary>
    public NpgsqlBatchCommand Write(ItemRow row, int ordinal, StoredItem? item, string revision, long? given = null)
    {
        var write = new NpgsqlBatchCommand(Sql(row, revision));
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
    /// The text of a write statement. There are a dozen (a delete or an upsert, a clear body of an item or of the
    /// application's properties, three revision expressions), each built once: formatting the 600 characters for
    /// every change was about a seventh of what a save allocated.
    /// </summary>
    private string Sql(ItemRow row, string revision)
    {
        bool delete = row.Body is null && row.Sealed is null;
        bool extras = row.Kind == ChangeRows.Extras;
        int slot = (revision == GivenRevision ? 0 : revision == TakeRevision ? 1 : revision == SameRevision ? 2
            : throw new ArgumentException($"Unknown revision expression '{revision}'.", nameof(revision))) * 4 + (delete ? 2 : 0) + (extras ? 1 : 0);
        return _sql[slot] ??= Build(revision, delete, Body(row));
    }

    private string Build(string revision, bool delete, string body)
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
            WITH c AS (INSERT INTO {schema}.changes (revision, ordinal, kind, id, body, sealed)
                       VALUES ({revision}, $1, $2, $3, {body}, $5) RETURNING revision, body, sealed),
                 w AS ({itemWrite})
            SELECT revision AS {WrittenRevision} FROM c
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
