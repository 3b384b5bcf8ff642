using StatePersistence.Errors;
using StatePersistence.Storage;

namespace StatePersistence.Service.Items;

/// <summary>The configured <see cref="ConflictPolicy"/>, applied to a conditional write that met another revision.</summary>
internal sealed class ConflictResolution(StatePersistenceOptions options)
{
    public ConflictPolicy Policy => options.ConflictPolicy;

    /// <summary>Whether a conflict of a write that expected <paramref name="expected"/> is resolved instead of refused.</summary>
    public bool Resolves(ExpectedRevision expected) => expected.Revision is not null && Policy != ConflictPolicy.Reject;

    /// <summary>
    /// Under <see cref="ConflictPolicy.Merge"/>: the merged item to write over the conflict's current one, with the
    /// revision to expect; null when there is nothing to merge with (no callback for the kind, or the item is gone).
    /// </summary>
    public (T Merged, ExpectedRevision Expected)? Merge<T>(ItemKind<T> kind, StateConflictException conflict, T attempted)
        where T : class
    {
        Func<T, T, T>? merge = ReferenceEquals(kind, ItemKind<Model.AgentTask>.Tasks)
            ? (Func<T, T, T>?)(object?)options.MergeTask
            : (Func<T, T, T>?)(object?)options.MergeSession;
        if (merge is null || conflict.Current is not T current || conflict.CurrentRevision is not { } revision)
        {
            return null;
        }

        T merged = merge(current, attempted) ?? throw new InvalidOperationException($"The {kind.Name} merge callback returned null for '{conflict.Id}'.");

        // The merge decides the content, never which item it is.
        kind.SetId(merged, conflict.Id);
        return (merged, ExpectedRevision.Exactly(revision));
    }
}
