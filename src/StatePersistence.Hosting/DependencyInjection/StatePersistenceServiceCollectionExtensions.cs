using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StatePersistence;
using StatePersistence.Hosting;
using StatePersistence.Hosting.Options;
using StatePersistence.Storage;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers StatePersistence with a <see cref="IServiceCollection"/>.</summary>
public static class StatePersistenceServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="StatePersistenceService"/> (also as <see cref="IStatePersistence"/>) as a singleton, with its
    /// options bound from the configuration section <c>StatePersistence</c> (when an <c>IConfiguration</c> is
    /// registered) and then changed by <paramref name="configure"/>; the options are validated when the host starts.
    /// A hosted service runs start-up recovery before the application serves and writes the final snapshot on a
    /// graceful shutdown. The host's <see cref="TimeProvider"/>, <see cref="ILoggerFactory"/> and
    /// <see cref="IMeterFactory"/> are used when registered. The store is chosen on the returned builder
    /// (<c>.UseFileSystem(path)</c>, <c>.UseInMemory()</c>, or a backend package's <c>Use…</c>); without a choice it is
    /// the file store at the configured state directory. Calling it again only adds <paramref name="configure"/>.
    /// </summary>
    /// <remarks>
    /// When neither the configuration nor <paramref name="configure"/> sets
    /// <see cref="StatePersistenceOptions.StatePath"/>, the <c>STATE_PATH</c> environment variable and then
    /// <c>./coding-agent-state</c> are used (<see cref="StatePersistenceOptions.ResolveStatePath"/>).
    /// </remarks>
    public static StatePersistenceBuilder AddStatePersistence(this IServiceCollection services,
        Action<StatePersistenceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);

        services.AddOptions<StatePersistenceOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<StatePersistenceOptions>, BindStatePersistenceOptions>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StatePersistenceOptions>, StatePersistenceOptionsValidator>());
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IStateStore>(StatePersistenceStoreExtensions.CreateFileStore);
        services.TryAddSingleton(CreateService);
        services.TryAddSingleton<IStatePersistence>(static sp => sp.GetRequiredService<StatePersistenceService>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, StatePersistenceHostedService>());
        return new StatePersistenceBuilder(services);
    }

    private static StatePersistenceService CreateService(IServiceProvider services) => new(
        services.GetRequiredService<IOptions<StatePersistenceOptions>>().Value,
        services.GetRequiredService<IStateStore>(),
        services.GetService<ILoggerFactory>(),
        services.GetService<TimeProvider>(),
        services.GetService<IMeterFactory>(),
        services.GetService<IStateBlobStore>());
}
