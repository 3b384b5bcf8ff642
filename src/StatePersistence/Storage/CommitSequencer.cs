using StatePersistence.Commit;
using StatePersistence.Serialization;

namespace StatePersistence.Storage;

/// <summary>
/// The commit decision of a store with one writer: it knows every item's revision and the log's position, checks a
/// batch's expectations group by group (each group sees the groups before it), assigns positions and stamps the
/// values. Two steps, so nothing changes until the batch is durable: <see cref="Plan"/>, then
/// <see cref="Accept"/> once the store has written what the plan committed.
/// </summary>
public sealed class CommitSequencer
{
    private readonly Dictionary<string, long> _tasks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _sessions = new(StringComparer.Ordinal);

    /// <summary>Starts from a loaded state: its items' revisions and its revision as the position.</summary>
    public CommitSequencer(StateView loaded)
    {
        ArgumentNullException.ThrowIfNull(loaded);
        Position = loaded.Revision;
        foreach ((string id, StoredItem item) in loaded.Tasks)
        {
            _tasks[id] = item.Revision;
        }

        foreach ((string id, StoredItem item) in loaded.Sessions)
        {
            _sessions[id] = item.Revision;
        }
    }

    /// <summary>The last committed position.</summary>
    public long Position { get; private set; }

    /// <summary>Decides each group's outcome without changing anything.</summary>
    public CommitPlan Plan(IReadOnlyList<IReadOnlyList<StateChange>> groups)
    {
        ArgumentNullException.ThrowIfNull(groups);
        var overlay = new Dictionary<(bool Task, string Id), long?>();
        var outcomes = new CommitOutcome[groups.Count];
        long position = Position;
        for (int g = 0; g < groups.Count; g++)
        {
            IReadOnlyList<StateChange> group = groups[g];
            List<ItemConflict>? conflicts = null;
            for (int i = 0; i < group.Count; i++)
            {
                // Indexed: a foreach over the interface would allocate an enumerator for every group.
                StateChange change = group[i];
                if (Key(change) is { } key && !change.Expected.IsMetBy(Current(overlay, key)))
                {
                    (conflicts ??= []).Add(new ItemConflict(change.Kind, change.Id, change.Expected, Current(overlay, key)));
                }
            }

            if (conflicts is not null)
            {
                outcomes[g] = new CommitOutcome(0, [], conflicts);
                continue;
            }

            long revision = ++position;
            var stamped = new StateChange[group.Count];
            for (int i = 0; i < group.Count; i++)
            {
                stamped[i] = ItemRevision.Stamp(group[i], revision);
                if (Key(group[i]) is { } key)
                {
                    overlay[key] = group[i].Kind is ChangeKind.DeleteTask or ChangeKind.DeleteSession ? null : revision;
                }
            }

            outcomes[g] = new CommitOutcome(revision, stamped, []);
        }

        return new CommitPlan(outcomes, overlay, position);
    }

    /// <summary>Makes a plan's committed groups the current state (after the store has written them).</summary>
    public void Accept(CommitPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        foreach (((bool task, string id), long? revision) in plan.Overlay)
        {
            Dictionary<string, long> map = task ? _tasks : _sessions;
            if (revision is { } r)
            {
                map[id] = r;
            }
            else
            {
                map.Remove(id);
            }
        }

        Position = plan.Position;
    }

    private long? Current(Dictionary<(bool Task, string Id), long?> overlay, (bool Task, string Id) key)
    {
        if (overlay.TryGetValue(key, out long? pending))
        {
            return pending;
        }

        return (key.Task ? _tasks : _sessions).TryGetValue(key.Id, out long revision) ? revision : null;
    }

    private static (bool Task, string Id)? Key(StateChange change) => change.Kind switch
    {
        ChangeKind.PutTask or ChangeKind.DeleteTask or ChangeKind.AppendTaskLog => (true, change.Id),
        ChangeKind.PutSession or ChangeKind.DeleteSession => (false, change.Id),
        _ => null,
    };
}

/// <summary>What <see cref="CommitSequencer.Plan"/> decided.</summary>
public sealed class CommitPlan
{
    internal CommitPlan(IReadOnlyList<CommitOutcome> outcomes, Dictionary<(bool Task, string Id), long?> overlay, long position)
    {
        Outcomes = outcomes;
        Overlay = overlay;
        Position = position;
    }

    /// <summary>One outcome per group.</summary>
    public IReadOnlyList<CommitOutcome> Outcomes { get; }

    /// <summary>The committed groups, in order: what the store writes.</summary>
    public IReadOnlyList<CommittedGroup> Committed => [.. Outcomes.Where(o => o.Committed).Select(o => new CommittedGroup(o.Revision, o.Changes))];

    internal Dictionary<(bool Task, string Id), long?> Overlay { get; }

    internal long Position { get; }
}
