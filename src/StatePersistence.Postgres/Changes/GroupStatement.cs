using Npgsql;
using NpgsqlTypes;
using StatePersistence.Commit;
using StatePersistence.Postgres.Listing;

namespace StatePersistence.Postgres.Changes;

/// <summary>
/// The one statement that writes every change of a call's accepted groups: the rows go as arrays (one parameter per
/// column, not one statement and eleven parameters per change), PostgreSQL unnests them, gives each group its revision
/// (taken from the sequence in the order of the groups, or given by the caller), and, when the call numbers itself,
/// its feed position (after the highest, one per group that has rows, so positions stay dense), inserts every change
/// into the log, and applies each item's last change of the call to its row (an upsert, or a delete). A body is parsed
/// once, and the statement returns each group's revision and position as (<see cref="Group"/>,
/// <see cref="Revision"/>, <see cref="Position"/>).
/// </summary>
internal sealed class GroupStatement(string schema)
{
    /// <summary>The name of the column holding the group's index among the accepted groups.</summary>
    public const string Group = "written_group";

    /// <summary>The name of the column holding the group's revision.</summary>
    public const string Revision = "written_revision";

    /// <summary>The name of the column holding the group's feed position (null when a reader numbers it later).</summary>
    public const string Position = "written_position";

    // Built once per shape (revisions taken or given, positions given or not).
    private readonly string?[] _sql = new string?[4];

    /// <summary>
    /// The statement writing <paramref name="rows"/>, each with its group's index among <paramref name="groupCount"/>
    /// accepted groups (groups without rows still take their revision). <paramref name="given"/> holds the revisions
    /// the caller took (one per group, increasing), or null to take them here; <paramref name="numbered"/> gives the
    /// groups their feed positions (only under the feed's lock).
    /// </summary>
    public NpgsqlBatchCommand Write(IReadOnlyList<GroupRow> rows, int groupCount, long[]? given, bool numbered)
    {
        int count = rows.Count;
        var groups = new int[count];
        var ordinals = new int[count];
        var kinds = new string[count];
        var ids = new string[count];
        var bodies = new byte[]?[count];
        var sealedBodies = new byte[]?[count];
        var statuses = new string?[count];
        var tools = new string?[count];
        var created = new long?[count];
        var updated = new long?[count];
        var listed = new bool[count];
        for (int i = 0; i < count; i++)
        {
            GroupRow row = rows[i];
            (groups[i], ordinals[i], kinds[i], ids[i], bodies[i], sealedBodies[i]) = (row.Group, row.Ordinal, row.Row.Kind, row.Row.Id, row.Row.Body, row.Row.Sealed);
            (statuses[i], tools[i], created[i], updated[i], listed[i]) = TaskListingColumns.Values(row.Row, row.Item);
        }

        var write = new NpgsqlBatchCommand(_sql[(given is null ? 0 : 2) + (numbered ? 1 : 0)] ??= Build(given is not null, numbered));
        write.Parameters.Add(ArrayOf(groups, NpgsqlDbType.Integer));
        write.Parameters.Add(ArrayOf(ordinals, NpgsqlDbType.Integer));
        write.Parameters.Add(ArrayOf(kinds, NpgsqlDbType.Text));
        write.Parameters.Add(ArrayOf(ids, NpgsqlDbType.Text));
        write.Parameters.Add(ArrayOf(bodies, NpgsqlDbType.Bytea));
        write.Parameters.Add(ArrayOf(sealedBodies, NpgsqlDbType.Bytea));
        write.Parameters.Add(ArrayOf(statuses, NpgsqlDbType.Text));
        write.Parameters.Add(ArrayOf(tools, NpgsqlDbType.Text));
        write.Parameters.Add(ArrayOf(created, NpgsqlDbType.Bigint));
        write.Parameters.Add(ArrayOf(updated, NpgsqlDbType.Bigint));
        write.Parameters.Add(ArrayOf(listed, NpgsqlDbType.Boolean));
        write.Parameters.Add(given is null
            ? new NpgsqlParameter { Value = groupCount, NpgsqlDbType = NpgsqlDbType.Integer }
            : ArrayOf(given, NpgsqlDbType.Bigint));
        return write;
    }

    private static NpgsqlParameter ArrayOf(Array values, NpgsqlDbType element) => new() { Value = values, NpgsqlDbType = NpgsqlDbType.Array | element };

    private string Build(bool given, bool numbered)
    {
        // Revisions: taken in one CTE (a volatile one is evaluated once) and handed to the groups in increasing order,
        // so the groups' revisions follow their order whatever order the sequence was read in.
        string revisions = given
            ? "r AS (SELECT (t.o - 1)::int AS g, t.revision FROM unnest($12::bigint[]) WITH ORDINALITY AS t(revision, o))"
            : $"""
              taken AS (SELECT nextval('{schema}.revisions') AS revision FROM generate_series(1, $12)),
                   r AS (SELECT (row_number() OVER (ORDER BY revision))::int - 1 AS g, revision FROM taken)
              """;
        // Positions: after the highest the log holds or held (the horizon keeps the highest pruned one), read under
        // the feed's lock by this statement's snapshot, which sees every numbering before it.
        string positions = numbered
            ? $"""
              gp AS (SELECT d.g, p.base + row_number() OVER (ORDER BY d.g) AS position
                     FROM (SELECT DISTINCT g FROM u) d,
                          (SELECT greatest(coalesce(max(position), 0), (SELECT position FROM {schema}.feed_horizon)) AS base FROM {schema}.changes) p)
              """
            : "gp AS (SELECT NULL::int AS g, NULL::bigint AS position WHERE false)";
        // Each item's row takes the call's last change to it (two groups of one call may change the same item; an
        // upsert may not touch a row twice).
        return $"""
            WITH u AS (SELECT * FROM unnest($1::int[], $2::int[], $3::text[], $4::text[], $5::bytea[], $6::bytea[], $7::text[], $8::text[],
                                            $9::bigint[], $10::bigint[], $11::bool[])
                         AS u(g, ordinal, kind, id, body, sealed, status, tool, created_key, updated_key, listed)),
                 {revisions},
                 {positions},
                 c AS (INSERT INTO {schema}.changes (revision, ordinal, kind, id, body, sealed, position, numbered_at)
                       SELECT r.revision, u.ordinal, u.kind, u.id, {ClearBodies.Body("u.kind", "u.body")}, u.sealed,
                              gp.position, CASE WHEN gp.position IS NOT NULL THEN clock_timestamp() END
                       FROM u JOIN r ON r.g = u.g LEFT JOIN gp ON gp.g = u.g
                       RETURNING revision, ordinal, kind, id, body, sealed),
                 last AS (SELECT DISTINCT ON (c.kind, c.id) c.kind, c.id, c.revision, c.body, c.sealed,
                                 u.status, u.tool, u.created_key, u.updated_key, u.listed
                          FROM c JOIN r ON r.revision = c.revision JOIN u ON u.g = r.g AND u.ordinal = c.ordinal
                          ORDER BY c.kind, c.id, c.revision DESC, c.ordinal DESC),
                 put AS (INSERT INTO {schema}.items (kind, id, revision, body, sealed, status, tool, created_key, updated_key, listed)
                         SELECT kind, id, revision, body, sealed, status, tool, created_key, updated_key, listed FROM last
                         WHERE body IS NOT NULL OR sealed IS NOT NULL
                         ON CONFLICT (kind, id) DO UPDATE SET revision = excluded.revision, body = excluded.body, sealed = excluded.sealed,
                             status = excluded.status, tool = excluded.tool, created_key = excluded.created_key,
                             updated_key = excluded.updated_key, listed = excluded.listed),
                 del AS (DELETE FROM {schema}.items i USING last
                         WHERE last.body IS NULL AND last.sealed IS NULL AND i.kind = last.kind AND i.id = last.id)
            SELECT r.g AS {Group}, r.revision AS {Revision}, gp.position AS {Position} FROM r LEFT JOIN gp ON gp.g = r.g ORDER BY r.g
            """;
    }
}

/// <summary>One change's row in a <see cref="GroupStatement"/>: its group's index, its ordinal in the group, the row, and the item for the listing columns.</summary>
internal readonly record struct GroupRow(int Group, int Ordinal, ItemRow Row, StoredItem? Item);
