using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using StatePersistence.Serialization;

namespace StatePersistence.Postgres;

/// <summary>
/// The service over the PostgreSQL store, for applications without dependency injection (with it,
/// <c>AddStatePersistence(...).UsePostgres(connectionString)</c> does the same).
/// </summary>
public static class PostgresStatePersistence
{
    /// <summary>
    /// Creates a PostgreSQL store in <paramref name="schema"/> and the service over it (not started);
    /// <paramref name="changeRetention"/> as on <see cref="PostgresStateStore"/>.
    /// </summary>
    public static StatePersistenceService Create(string connectionString, string schema = PostgresStateStore.DefaultSchema,
        StatePersistenceOptions? options = null, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null,
        IMeterFactory? meterFactory = null, IPayloadCodec? codec = null, TimeSpan? changeRetention = null)
    {
        options ??= new StatePersistenceOptions();
        var store = new PostgresStateStore(connectionString, schema, codec ?? options.ResolvePayloadCodec(hasStateDirectory: false),
            changeRetention: changeRetention);
        return new StatePersistenceService(options, store, loggerFactory, timeProvider, meterFactory);
    }

    /// <summary>Creates the service over a PostgreSQL store and starts it (schema, then loading the state).</summary>
    public static async Task<StatePersistenceService> OpenAsync(string connectionString, string schema = PostgresStateStore.DefaultSchema,
        StatePersistenceOptions? options = null, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null,
        IMeterFactory? meterFactory = null, CancellationToken cancellationToken = default, TimeSpan? changeRetention = null)
    {
        StatePersistenceService service = Create(connectionString, schema, options, loggerFactory, timeProvider, meterFactory,
            changeRetention: changeRetention);
        return await StartedAsync(service, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The service <c>statectl archive --store postgres</c> runs a task archive on: over a store whose loads keep of the
    /// tasks only those a run with the cut <paramref name="completedBefore"/> may choose
    /// (<see cref="PostgresStateStore.ArchiveCandidatesBefore"/>), started. Not for anything else: the other tasks are
    /// absent from its state.
    /// </summary>
    internal static async Task<StatePersistenceService> OpenForTaskArchiveAsync(string connectionString, string schema, DateTimeOffset completedBefore,
        StatePersistenceOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new StatePersistenceOptions();
        var store = new PostgresStateStore(connectionString, schema, options.ResolvePayloadCodec(hasStateDirectory: false))
        {
            ArchiveCandidatesBefore = completedBefore,
        };
        var service = new StatePersistenceService(options, store);
        return await StartedAsync(service, cancellationToken).ConfigureAwait(false);
    }

    /// <summary><paramref name="service"/> started; disposed when its start fails, so nothing it opened is left behind.</summary>
    private static async Task<StatePersistenceService> StartedAsync(StatePersistenceService service, CancellationToken cancellationToken)
    {
        try
        {
            await service.StartAsync(cancellationToken).ConfigureAwait(false);
            return service;
        }
        catch
        {
            await service.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
