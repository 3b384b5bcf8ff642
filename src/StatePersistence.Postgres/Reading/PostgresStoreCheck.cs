namespace StatePersistence.Postgres;

/// <summary>A look at a schema before a store is opened on it only to be read, since an open creates a missing schema and upgrades an older one.</summary>
public static class PostgresStoreCheck
{
    /// <summary>
    /// Throws <see cref="Errors.StateStorageException"/> naming the schema unless it holds a store at this build's
    /// version: none, an older one (which an instance of this build upgrades when it starts) or a newer one. Reads the
    /// version only; nothing is created or changed. Throws as <see cref="PostgresTaskReader.ReadAsync"/> for the
    /// connection string and the database.
    /// </summary>
    public static Task RequireCurrentAsync(string connectionString, string schema = PostgresStateStore.DefaultSchema, CancellationToken cancellationToken = default) =>
        Reading.OperatorConnection.ReadAsync(connectionString, schema, Schema.PostgresSchema.CurrentVersion, "be read",
            (_, _, _) => Task.FromResult(true), cancellationToken);
}
