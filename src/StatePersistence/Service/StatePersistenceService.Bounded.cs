using StatePersistence.Commit;
using StatePersistence.Model;
using StatePersistence.Serialization;

namespace StatePersistence;

/// <summary>Reads whose cost a caller can bound: counts, pages, and a snapshot only when something changed.</summary>
public sealed partial class StatePersistenceService
{
    /// <summary>How many tasks the newest durable state holds; O(1), for quotas and gauges.</summary>
    public int TaskCount => Committer.Durable.Tasks.Count;

    /// <summary>How many sessions the newest durable state holds; O(1).</summary>
    public int SessionCount => Committer.Durable.Sessions.Count;

    /// <summary>
    /// Up to <paramref name="limit"/> tasks whose id sorts after <paramref name="after"/> (ordinal; from the first
    /// when null), with status <paramref name="status"/> when given, ordered by id. Only the page is deserialized.
    /// </summary>
    public IReadOnlyList<AgentTask> LoadTasksPage(string? status, string? after, int limit) =>
        Page(Committer.Durable.Tasks.Values, after, limit, status).Select(i => ItemCodec.DeserializeTask(i.Json)).ToList();

    /// <summary>Up to <paramref name="limit"/> sessions whose id sorts after <paramref name="after"/>, ordered by id.</summary>
    public IReadOnlyList<SessionInfo> LoadSessionsPage(string? after, int limit) =>
        Page(Committer.Durable.Sessions.Values, after, limit, null).Select(i => ItemCodec.DeserializeSession(i.Json)).ToList();

    /// <summary>
    /// Writes a snapshot (with its backup) unless nothing changed since the last one; returns its <c>last_saved</c>
    /// and whether one was written. Repeated calls then cannot push real history out of the kept backups.
    /// </summary>
    public async ValueTask<(DateTimeOffset LastSaved, bool Written)> SaveSnapshotIfChangedAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        long before = Volatile.Read(ref _snapshotRevision);
        DateTimeOffset savedAt = await CheckpointAsync(force: false, cancellationToken).ConfigureAwait(false);
        return (savedAt, Volatile.Read(ref _snapshotRevision) != before);
    }

    private static IEnumerable<StoredItem> Page(IEnumerable<StoredItem> sorted, string? after, int limit, string? status)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        IEnumerable<StoredItem> items = after is null ? sorted : sorted.SkipWhile(i => string.CompareOrdinal(i.Id, after) <= 0);
        if (status is not null)
        {
            items = items.Where(i => i.Status == status);
        }

        return items.Take(limit);
    }
}
