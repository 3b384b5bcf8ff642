using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StatePersistence;
using StatePersistence.FileStore;
using StatePersistence.InMemory;
using StatePersistence.Serialization;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>The stores that come with the library, as choices on <see cref="StatePersistenceBuilder"/>.</summary>
public static class StatePersistenceStoreExtensions
{
    /// <summary>
    /// The file store (the default): a state directory in the seed's layout. <paramref name="path"/> overrides
    /// <see cref="StatePersistenceOptions.StatePath"/>; without either, <c>STATE_PATH</c> and then
    /// <c>./coding-agent-state</c> are used. An <see cref="IPayloadCodec"/> registered in the container is used for
    /// what the store encodes.
    /// </summary>
    public static StatePersistenceBuilder UseFileSystem(this StatePersistenceBuilder builder, string? path = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (path is not null)
        {
            builder.Services.Configure<StatePersistenceOptions>(o => o.StatePath = path);
        }

        return builder.UseStore(CreateFileStore);
    }

    /// <summary>
    /// The in-memory reference store, for an application's own tests: nothing survives the process, but a new
    /// container given the same <paramref name="storage"/> sees everything committed before.
    /// </summary>
    public static StatePersistenceBuilder UseInMemory(this StatePersistenceBuilder builder, InMemoryStorage? storage = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.UseStore(sp => new InMemoryStateStore(storage, Codec(sp, hasStateDirectory: false)));
    }

    /// <summary>
    /// The codec a store built by the container uses: an <see cref="IPayloadCodec"/> registered in it, else the one the
    /// options call for (<see cref="StatePersistenceOptions.ResolvePayloadCodec"/>: encryption when a key source is set).
    /// </summary>
    internal static IPayloadCodec? Codec(IServiceProvider services, bool hasStateDirectory) =>
        services.GetService<IPayloadCodec>()
            ?? services.GetRequiredService<IOptions<StatePersistenceOptions>>().Value.ResolvePayloadCodec(hasStateDirectory);

    internal static FileStateStore CreateFileStore(IServiceProvider services) => new(
        services.GetRequiredService<IOptions<StatePersistenceOptions>>().Value,
        codec: Codec(services, hasStateDirectory: true),
        timeProvider: services.GetService<TimeProvider>(),
        logger: services.GetService<ILogger<FileStateStore>>());
}
