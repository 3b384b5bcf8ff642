using System.Collections.Immutable;
using StatePersistence.Commit;
using StatePersistence.Ids;
using StatePersistence.Model;
using StatePersistence.Serialization;

namespace StatePersistence;

public sealed partial class StatePersistenceService
{
    private static readonly ItemKind<AgentTask> Tasks = new(
        "task", ChangeKind.DeleteTask, static view => view.Tasks, TaskChange, static json => ItemCodec.DeserializeTask(json),
        static (task, id) => task.Id = id);

    private static readonly ItemKind<SessionInfo> Sessions = new(
        "session", ChangeKind.DeleteSession, static view => view.Sessions, SessionChange,
        static json => ItemCodec.DeserializeSession(json), static (session, id) => session.Id = id);

    private async ValueTask SaveItemAsync<T>(ItemKind<T> kind, T item, CancellationToken cancellationToken)
    {
        StateChange change = kind.Change(item);
        await CommitAsync(kind.Name, change.Id, static (_, c) => [c], change, cancellationToken).ConfigureAwait(false);
    }

    private ValueTask<bool> CreateItemAsync<T>(ItemKind<T> kind, T item, CancellationToken cancellationToken)
    {
        StateChange change = kind.Change(item);
        return CommitAsync(kind.Name, change.Id, (view, c) => kind.Map(view).ContainsKey(c.Id) ? null : [c], change, cancellationToken);
    }

    private async ValueTask<T?> UpdateItemAsync<T>(ItemKind<T> kind, string id, Action<T> update, CancellationToken cancellationToken)
        where T : class
    {
        StateId.Validate(id, kind.Name);
        ArgumentNullException.ThrowIfNull(update);
        T? saved = null;
        bool committed = await CommitIfUnchangedAsync(kind.Name, kind.Map, id, current =>
        {
            T item = kind.Deserialize(current.Json);
            update(item);
            kind.SetId(item, id);
            saved = item;
            return kind.Change(item);
        }, cancellationToken).ConfigureAwait(false);
        return committed ? saved : null;
    }

    /// <summary>
    /// A read-modify-write of one item as a compare-and-swap: <paramref name="change"/> runs outside the committer's
    /// lock on the newest version of the item, and its result commits only if the item is still that version (every
    /// committed change to an item replaces its <see cref="StoredItem"/>, so the instance is its version); otherwise it
    /// runs again on the newer version. The lock orders every save of the store, so parsing and serializing inside it
    /// serialized all concurrent updates on one core. Returns false when there is no such item.
    /// </summary>
    private async ValueTask<bool> CommitIfUnchangedAsync(string kind,
        Func<StateView, ImmutableSortedDictionary<string, StoredItem>> map, string id, Func<StoredItem, StateChange> change,
        CancellationToken cancellationToken)
    {
        while (true)
        {
            if (!map(Committer.Latest).TryGetValue(id, out StoredItem? current))
            {
                return false;
            }

            var attempt = new CompareAndSwap(map, current, change(current));
            if (await CommitAsync(kind, id, static (view, a) => a.Build(view), attempt, cancellationToken).ConfigureAwait(false))
            {
                return true;
            }

            if (!attempt.Stale)
            {
                return false;
            }
        }
    }

    /// <summary>One attempt of <see cref="CommitIfUnchangedAsync"/>: commits only over the version it was made from.</summary>
    private sealed class CompareAndSwap(Func<StateView, ImmutableSortedDictionary<string, StoredItem>> map, StoredItem read, StateChange change)
    {
        public bool Stale { get; private set; }

        public IReadOnlyList<StateChange>? Build(StateView view)
        {
            if (map(view).TryGetValue(read.Id, out StoredItem? now) && ReferenceEquals(now, read))
            {
                return [change];
            }

            Stale = true;
            return null;
        }
    }

    private T? LoadItem<T>(ItemKind<T> kind, string id)
        where T : class
    {
        StateId.Validate(id, kind.Name);
        return kind.Map(Committer.Durable).TryGetValue(id, out StoredItem? item) ? kind.Deserialize(item.Json) : null;
    }

    private List<T> LoadItems<T>(ItemKind<T> kind, Func<StoredItem, bool>? filter = null)
    {
        IEnumerable<StoredItem> items = kind.Map(Committer.Durable).Values;
        if (filter is not null)
        {
            items = items.Where(filter);
        }

        // The maps are sorted by id (ordinal), so the list is too.
        return [.. items.Select(i => kind.Deserialize(i.Json))];
    }

    private async ValueTask<bool> DeleteItemAsync<T>(ItemKind<T> kind, string id, CancellationToken cancellationToken)
    {
        StateId.Validate(id, kind.Name);
        var change = new StateChange(kind.Delete, id, null);
        return await CommitAsync(kind.Name, id, (view, c) => kind.Map(view).ContainsKey(c.Id) ? [c] : null, change, cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>What differs between tasks and sessions; everything else about saving them is shared.</summary>
    private sealed record ItemKind<T>(
        string Name,
        ChangeKind Delete,
        Func<StateView, ImmutableSortedDictionary<string, StoredItem>> Map,
        Func<T, StateChange> Change,
        Func<byte[], T> Deserialize,
        Action<T, string> SetId);
}
