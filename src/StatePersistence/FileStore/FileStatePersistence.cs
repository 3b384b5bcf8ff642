using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using StatePersistence.Serialization;

namespace StatePersistence.FileStore;

/// <summary>
/// The service over the file store, for applications without dependency injection (with it, the hosting package's
/// <c>AddStatePersistence(...).UseFileSystem(path)</c> does the same). The core never constructs a store itself.
/// </summary>
public static class FileStatePersistence
{
    /// <summary>Creates a file store for <see cref="StatePersistenceOptions.ResolveStatePath"/> and the service over it (not started).</summary>
    public static StatePersistenceService Create(StatePersistenceOptions? options = null, ILoggerFactory? loggerFactory = null,
        TimeProvider? timeProvider = null, IMeterFactory? meterFactory = null, IPayloadCodec? codec = null)
    {
        options ??= new StatePersistenceOptions();
        var store = new FileStateStore(options, codec: codec ?? options.ResolvePayloadCodec(), timeProvider: timeProvider, logger: loggerFactory?.CreateLogger<FileStateStore>());
        return new StatePersistenceService(options, store, loggerFactory, timeProvider, meterFactory);
    }

    /// <summary>Creates the service over a file store and starts it (recovery, then autosave).</summary>
    public static async Task<StatePersistenceService> OpenAsync(StatePersistenceOptions? options = null,
        ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null, IMeterFactory? meterFactory = null,
        CancellationToken cancellationToken = default)
    {
        StatePersistenceService service = Create(options, loggerFactory, timeProvider, meterFactory);
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
