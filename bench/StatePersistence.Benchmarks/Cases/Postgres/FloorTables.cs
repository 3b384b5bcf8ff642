using Npgsql;

namespace StatePersistence.Benchmarks.Cases.Postgres;

/// <summary>
/// The tables the raw Npgsql floors write: a task's <c>jsonb</c> row with its revision, the revisions' sequence and the
/// change rows, only their primary keys. One definition, so the per-save floor and the grouped one write the same.
/// </summary>
internal static class FloorTables
{
    /// <summary>Creates the tables in <paramref name="schema"/> (an identifier as it goes into SQL, quoted if need be).</summary>
    public static async Task CreateAsync(NpgsqlDataSource dataSource, string schema, CancellationToken cancellationToken)
    {
        await using NpgsqlCommand ddl = dataSource.CreateCommand($"""
            CREATE TABLE {schema}.items (kind text NOT NULL, id text NOT NULL, revision bigint NOT NULL, body jsonb NOT NULL, PRIMARY KEY (kind, id));
            CREATE SEQUENCE {schema}.revisions;
            CREATE TABLE {schema}.changes (revision bigint PRIMARY KEY, kind text NOT NULL, id text NOT NULL, body jsonb NULL);
            """);
        await ddl.ExecuteNonQueryAsync(cancellationToken);
    }
}
