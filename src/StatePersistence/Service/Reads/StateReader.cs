using System.Text.Json;
using StatePersistence.Commit;
using StatePersistence.Ids;
using StatePersistence.Model;
using StatePersistence.Serialization;
using StatePersistence.Service.Commits;
using StatePersistence.Service.Items;

namespace StatePersistence.Service.Reads;

/// <summary>
/// Every read, from the durable view only (nothing a reader sees can be lost); items are deserialized from their
/// stored bytes on each read, so callers can never change stored state. Pages and counts bound a read's cost. A
/// disposed service reads nothing: its view is no longer kept current, and its store may be another's by now.
/// </summary>
internal sealed class StateReader(CommitPipeline commits)
{
    private StateView View
    {
        get
        {
            commits.ThrowIfDisposed();
            return commits.Durable;
        }
    }

    public PersistedState LoadState(DateTimeOffset? lastSaved)
    {
        StateView view = View;
        return new PersistedState
        {
            Version = StateFormat.CurrentVersion,
            Revision = view.Revision,
            Tasks = view.Tasks.Values.Select(i => ItemCodec.DeserializeTask(i.Json)).ToList(),
            Sessions = view.Sessions.Values.Select(i => ItemCodec.DeserializeSession(i.Json)).ToList(),
            Metrics = MetricsCalculator.Compute(view.Tasks.Values),
            LastSaved = lastSaved,
            ExtensionData = view.Extras is null
                ? null
                : JsonSerializer.Deserialize(view.Extras, StateJsonContext.Default.DictionaryStringJsonElement),
        };
    }

    /// <summary>The state as <see cref="LoadState"/> gives it, written to <paramref name="destination"/> as JSON, streamed from the stored bytes.</summary>
    public ValueTask WriteState(DateTimeOffset? lastSaved, Stream destination, CancellationToken cancellationToken) =>
        StateJsonStream.WriteAsync(View, lastSaved, destination, cancellationToken);

    public T? Load<T>(ItemKind<T> kind, string id)
        where T : class
    {
        StateId.Validate(id, kind.Name);
        return kind.Map(View).TryGetValue(id, out StoredItem? item) ? kind.Deserialize(item.Json) : null;
    }

    public List<T> LoadAll<T>(ItemKind<T> kind, Func<StoredItem, bool>? filter = null)
        where T : class
    {
        IEnumerable<StoredItem> items = kind.Map(View).Values;
        if (filter is not null)
        {
            items = items.Where(filter);
        }

        // The maps are sorted by id (ordinal), so the list is too.
        return [.. items.Select(i => kind.Deserialize(i.Json))];
    }

    /// <summary>How many items have each status (none: the empty string), from <see cref="StoredItem.Status"/> alone.</summary>
    public Dictionary<string, int> CountByStatus<T>(ItemKind<T> kind)
        where T : class
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (StoredItem item in kind.Map(View).Values)
        {
            string status = item.Status ?? "";
            counts[status] = counts.GetValueOrDefault(status) + 1;
        }

        return counts;
    }

    /// <summary>Up to <paramref name="limit"/> items whose id sorts after <paramref name="after"/>; only the page is deserialized.</summary>
    public List<T> Page<T>(ItemKind<T> kind, string? after, int limit, string? status)
        where T : class
    {
        // At least 1, as every other page of the library (QueryTasks, ListReportsAsync) asks: a page of 0 would end a
        // caller's paging loop at once as if nothing were stored.
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        IEnumerable<StoredItem> items = kind.Map(View).Values;
        items = after is null ? items : items.SkipWhile(i => string.CompareOrdinal(i.Id, after) <= 0);
        if (status is not null)
        {
            items = items.Where(i => i.Status == status);
        }

        return [.. items.Take(limit).Select(i => kind.Deserialize(i.Json))];
    }
}
