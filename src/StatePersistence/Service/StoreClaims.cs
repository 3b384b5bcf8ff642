using System.Runtime.CompilerServices;
using StatePersistence.Storage;

namespace StatePersistence;

/// <summary>
/// Which service each store instance belongs to. A service takes its store: it opens it, and its disposal releases
/// it. A store handed to a second service while the first lives was opened by neither twice (the second start failed),
/// yet the second's disposal closed it under the first: a file store's directory lock was released, so another
/// process could open the directory beside the first service, whose next write then failed outside the library's
/// exceptions. The second service is now refused when it is built, before it can touch the store.
/// </summary>
internal static class StoreClaims
{
    private static readonly ConditionalWeakTable<IStateStore, StatePersistenceService> Owners = [];

    /// <summary>Records <paramref name="owner"/> as the store's service, or throws naming the store when another has it.</summary>
    public static void Claim(IStateStore store, StatePersistenceService owner)
    {
        if (!Owners.TryAdd(store, owner))
        {
            throw new ArgumentException(
                $"The store for '{store.Location}' already belongs to another StatePersistenceService, which opens it and releases it when disposed: "
                + "give each service a store of its own (a file store's directory has one writer), or dispose the other service first.", nameof(store));
        }
    }

    /// <summary>Ends <paramref name="owner"/>'s claim (its disposal, or its constructor failing after the claim).</summary>
    public static void Release(IStateStore store, StatePersistenceService owner)
    {
        if (Owners.TryGetValue(store, out StatePersistenceService? current) && ReferenceEquals(current, owner))
        {
            Owners.Remove(store);
        }
    }
}
