using Npgsql;
using StatePersistence.Errors;
using StatePersistence.Postgres.Schema;

namespace StatePersistence.Postgres;

/// <summary>
/// An operator's view of a PostgreSQL store's schema version, and its upgrade run on purpose rather than by the first
/// instance of a new build to start (<c>statectl migrate status|apply --store postgres</c>). An upgrade is the one an
/// instance runs: one transaction under the schema's advisory lock, safe beside running instances (their writes wait
/// for it), refused for a role that may not run it, and never applied to a schema a newer build wrote. It has no
/// rollback: a step that fails rolls back whole and leaves the schema as it was; one that committed is undone only by
/// restoring the database.
/// </summary>
public static class PostgresSchemaMigrations
{
    /// <summary>
    /// The schema's version, its history, the steps this build would apply and whether an upgrade runs now. Read-only:
    /// a schema with no store is reported as such (<see cref="PostgresSchemaStatus.HoldsStore"/> false), not created.
    /// A connection string that does not parse is <see cref="ArgumentException"/> naming no value (it may hold a
    /// password); a database failure is <see cref="StateStorageException"/> naming the store.
    /// </summary>
    public static Task<PostgresSchemaStatus> GetStatusAsync(string connectionString, string schema = PostgresStateStore.DefaultSchema,
        CancellationToken cancellationToken = default) =>
        Reading.OperatorConnection.RunAsync(connectionString, schema, "read its schema's version", (dataSource, location) =>
            ReadStatusAsync(dataSource, schema, location, cancellationToken));

    /// <summary>
    /// Brings the schema to this build's version now, as an instance's start would, and returns its status after, with
    /// <see cref="PostgresSchemaStatus.Outcome"/> saying what was done. A schema that holds no store is refused with
    /// <see cref="PostgresStoreNotFoundException"/> (a mistyped name must not become a new store) unless
    /// <paramref name="create"/> is set; one a newer build wrote is
    /// refused with <see cref="StateFormatException"/> and left untouched; a role that may not create or alter the
    /// tables is refused with <see cref="StateStorageException"/>, the schema left as it was. Waits for an upgrade
    /// another session is running, then finds the schema current.
    /// </summary>
    public static Task<PostgresSchemaStatus> ApplyAsync(string connectionString, string schema = PostgresStateStore.DefaultSchema, bool create = false,
        CancellationToken cancellationToken = default) =>
        Reading.OperatorConnection.RunAsync(connectionString, schema, "upgrade its schema", async (dataSource, location) =>
        {
            PostgresSchemaStatus before = await ReadStatusAsync(dataSource, schema, location, cancellationToken).ConfigureAwait(false);
            if (!before.HoldsStore && !create)
            {
                throw new PostgresStoreNotFoundException(
                    $"The PostgreSQL schema '{schema}' at {location} holds no StatePersistence store (no {schema}.schema_version table): check the schema name ({PostgresStoreNotFoundException.SchemaSetting}, default '{PostgresStateStore.DefaultSchema}') and the database; to create a store there, run 'statectl migrate apply --store postgres --create' (library: PostgresSchemaMigrations.ApplyAsync with create: true). Nothing was changed.",
                    schema, location);
            }

            int found = await PostgresSchema.EnsureAsync(dataSource, schema, cancellationToken).ConfigureAwait(false);
            PostgresSchemaStatus after = await ReadStatusAsync(dataSource, schema, location, cancellationToken).ConfigureAwait(false);
            int now = PostgresSchema.CurrentVersion;
            string outcome = found == 0 ? $"created the store's schema at version {now}"
                : found < now ? $"upgraded the schema from version {found} to {now}"
                : $"the schema is at version {found} already: nothing to do";
            return after with { Outcome = outcome };
        });

    private static async Task<PostgresSchemaStatus> ReadStatusAsync(NpgsqlDataSource dataSource, string schema, string location,
        CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        int? version = await PostgresSchema.ReadVersionAsync(connection, null, schema, cancellationToken).ConfigureAwait(false);
        var applied = new List<PostgresSchemaVersion>();
        if (version is not null)
        {
            await using var history = new NpgsqlCommand($"SELECT version, description, applied_at FROM {schema}.schema_version ORDER BY version", connection);
            await using NpgsqlDataReader reader = await history.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                applied.Add(new PostgresSchemaVersion(reader.GetInt32(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2)));
            }
        }

        IReadOnlyList<string> steps = PostgresSchema.StepDescriptions;
        List<PostgresSchemaVersion> pending = [.. Enumerable.Range((version ?? 0) + 1, Math.Max(0, steps.Count - (version ?? 0)))
            .Select(v => new PostgresSchemaVersion(v, steps[v - 1], null))];

        int? upgrading = await PostgresSchema.UpgradeHolderAsync(connection, schema, cancellationToken).ConfigureAwait(false);
        return new PostgresSchemaStatus(location, schema, version, PostgresSchema.CurrentVersion, applied, pending, upgrading);
    }
}
