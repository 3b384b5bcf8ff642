using StatePersistence.Postgres;

namespace StatePersistence.Cli.Infrastructure;

/// <summary>
/// Opens the store a modifying command works on, as <see cref="StoreChoice"/> names it: the state directory through its
/// writer lock (<see cref="WriterSession"/>), or a PostgreSQL store as an instance of the server opens it, beside the
/// running instances (no lock: the store is shared, and its writes are conditional), once its schema is found at this
/// build's version (an open creates a missing schema and upgrades an older one, which an operator's command must not).
/// </summary>
internal static class StoreSession
{
    public static Task<StatePersistenceService> OpenAsync(CommandContext context, StoreChoice store, CancellationToken cancellationToken) =>
        store.IsPostgres
            ? store.ReadAsync(async (connectionString, schema) =>
            {
                await PostgresStoreCheck.RequireCurrentAsync(connectionString, schema, cancellationToken).ConfigureAwait(false);
                return await PostgresStatePersistence.OpenAsync(connectionString, schema, context.StoreOptions(), cancellationToken: cancellationToken)
                    .ConfigureAwait(false);
            })
            : WriterSession.OpenAsync(context, cancellationToken);
}
