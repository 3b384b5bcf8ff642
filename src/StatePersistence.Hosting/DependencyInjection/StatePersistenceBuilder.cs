using Microsoft.Extensions.DependencyInjection.Extensions;
using StatePersistence.Storage;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// What <see cref="StatePersistenceServiceCollectionExtensions.AddStatePersistence(IServiceCollection, Action{StatePersistence.StatePersistenceOptions}?)"/>
/// returns: where the store is chosen. <c>UseFileSystem(path)</c> and <c>UseInMemory()</c> come with this package;
/// another backend's package adds its own <c>Use…</c> extension that calls <see cref="UseStore"/>. The last choice wins.
/// </summary>
public sealed class StatePersistenceBuilder
{
    internal StatePersistenceBuilder(IServiceCollection services) => Services = services;

    /// <summary>The service collection, to chain other registrations.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Uses the store <paramref name="create"/> makes (once, as a singleton); the service owns and disposes it.</summary>
    public StatePersistenceBuilder UseStore(Func<IServiceProvider, IStateStore> create)
    {
        ArgumentNullException.ThrowIfNull(create);
        Services.Replace(ServiceDescriptor.Singleton(create));
        return this;
    }
}
