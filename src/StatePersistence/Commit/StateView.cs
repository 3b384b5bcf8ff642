using System.Collections.Immutable;

namespace StatePersistence.Commit;

/// <summary>
/// An immutable, consistent view of the whole state at one revision. Taking one is O(1) (the maps are persistent),
/// so a snapshot can stream to disk while saves go on, without a second copy of the state in memory. The maps are
/// sorted by id (ordinal), so <c>state.json</c> and every listing come out in id order.
/// </summary>
/// <param name="Revision">The last journal sequence number the view includes.</param>
/// <param name="Tasks">Tasks by id.</param>
/// <param name="Sessions">Sessions by id.</param>
/// <param name="Extras">The application's own top-level properties as a UTF-8 JSON object, or null.</param>
public sealed record StateView(
    long Revision,
    ImmutableSortedDictionary<string, StoredItem> Tasks,
    ImmutableSortedDictionary<string, StoredItem> Sessions,
    byte[]? Extras)
{
    /// <summary>The empty state.</summary>
    public static StateView Empty { get; } = new(0,
        ImmutableSortedDictionary.Create<string, StoredItem>(StringComparer.Ordinal),
        ImmutableSortedDictionary.Create<string, StoredItem>(StringComparer.Ordinal),
        null);

    /// <summary>
    /// Applies changes in order, returning the new view at <paramref name="revision"/>: what a store does to the state
    /// it loaded for each group of its log. A put's value is its change's <see cref="StateChange.Item"/> when set, and
    /// otherwise its JSON, validated (it must be a task or session with a valid id) and read for the fields the core
    /// keeps beside it; an append to a task's log must carry its <see cref="StateChange.Item"/>.
    /// </summary>
    /// <exception cref="System.Text.Json.JsonException">A put's JSON is not a valid task or session.</exception>
    public StateView Apply(IEnumerable<StateChange> changes, long revision) => Apply(changes, revision, Serialization.ItemCodec.ToItem);

    /// <summary>Applies changes in order, returning the new view; <paramref name="toItem"/> gives a put's value.</summary>
    internal StateView Apply(IEnumerable<StateChange> changes, long revision, Func<StateChange, StoredItem> toItem)
    {
        var next = new Builder(Tasks, Sessions, Extras);
        if (changes is IReadOnlyList<StateChange> list)
        {
            // Indexed: a foreach over the interface would allocate an enumerator on every commit.
            for (int i = 0; i < list.Count; i++)
            {
                next.Apply(list[i], toItem);
            }
        }
        else
        {
            foreach (StateChange change in changes)
            {
                next.Apply(change, toItem);
            }
        }

        return new StateView(revision, next.Tasks, next.Sessions, next.Extras);
    }

    private struct Builder(ImmutableSortedDictionary<string, StoredItem> tasks, ImmutableSortedDictionary<string, StoredItem> sessions, byte[]? extras)
    {
        public ImmutableSortedDictionary<string, StoredItem> Tasks = tasks;
        public ImmutableSortedDictionary<string, StoredItem> Sessions = sessions;
        public byte[]? Extras = extras;

        public void Apply(StateChange change, Func<StateChange, StoredItem> toItem)
        {
            switch (change.Kind)
            {
                case ChangeKind.PutTask:
                case ChangeKind.AppendTaskLog:
                    Tasks = Tasks.SetItem(change.Id, toItem(change));
                    break;
                case ChangeKind.DeleteTask:
                    Tasks = Tasks.Remove(change.Id);
                    break;
                case ChangeKind.PutSession:
                    Sessions = Sessions.SetItem(change.Id, toItem(change));
                    break;
                case ChangeKind.DeleteSession:
                    Sessions = Sessions.Remove(change.Id);
                    break;
                case ChangeKind.SetStateExtras:
                    Extras = change.Json;
                    break;
                default:
                    throw new InvalidDataException($"Unknown change kind {(byte)change.Kind}.");
            }
        }
    }
}
