namespace StatePersistence.Postgres.Changes;

/// <summary>
/// The statements of a write. Each changes the item and records the change in one statement, so the expected revision
/// is checked on the row the statement locks (no read-then-write race), and the new revision is taken from the
/// sequence after that lock: a later change to the same item always gets a higher revision. A statement that returns no
/// row found the item not as expected.
/// </summary>
internal sealed class ChangeSql(string schema)
{
    private readonly string _record = $"INSERT INTO {schema}.changes (revision, kind, id, body) SELECT revision, $1, $2, $3::jsonb FROM w RETURNING revision";

    public string For(ItemWrite write) => (write.Body is null, write.Expected) switch
    {
        (false, { IsAny: true }) => $"""
            WITH w AS (INSERT INTO {schema}.items (kind, id, revision, body) VALUES ($1, $2, nextval('{schema}.revisions'), $3::jsonb)
                ON CONFLICT (kind, id) DO UPDATE SET revision = nextval('{schema}.revisions'), body = excluded.body RETURNING revision)
            {_record}
            """,
        (false, { IsAbsent: true }) => $"""
            WITH w AS (INSERT INTO {schema}.items (kind, id, revision, body) VALUES ($1, $2, nextval('{schema}.revisions'), $3::jsonb)
                ON CONFLICT (kind, id) DO NOTHING RETURNING revision)
            {_record}
            """,
        (false, _) => $"""
            WITH w AS (UPDATE {schema}.items SET revision = nextval('{schema}.revisions'), body = $3::jsonb
                WHERE kind = $1 AND id = $2 AND revision = $4 RETURNING revision)
            {_record}
            """,
        (true, { IsAny: true }) => $"""
            WITH w AS (DELETE FROM {schema}.items WHERE kind = $1 AND id = $2 RETURNING nextval('{schema}.revisions') AS revision)
            {_record}
            """,
        (true, _) => $"""
            WITH w AS (DELETE FROM {schema}.items WHERE kind = $1 AND id = $2 AND revision = $4 RETURNING nextval('{schema}.revisions') AS revision)
            {_record}
            """,
    };

    public string Current => $"SELECT revision, body::text FROM {schema}.items WHERE kind = $1 AND id = $2";
}
