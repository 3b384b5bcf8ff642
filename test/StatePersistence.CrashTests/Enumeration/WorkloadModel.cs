namespace StatePersistence.CrashTests.Enumeration;

/// <summary>One call a workload made: issued, and acknowledged once its await returned.</summary>
internal sealed class ModelOp(int sequence, string description)
{
    public int Sequence => sequence;

    public string Description => description;

    /// <summary>The call returned (or a reader saw its effect): from now on it must survive every crash.</summary>
    public bool Acknowledged { get; set; }

    /// <summary>
    /// The call failed without a crash, so the service dropped it from its latest state (it may still have reached
    /// the disk): later calls build on what came before it.
    /// </summary>
    public bool Abandoned { get; set; }
}

/// <summary>
/// What a workload wrote, in order, and which of it was acknowledged: the oracle crash states are checked against.
/// Items (tasks, sessions, reports, the application's own state fields) are keys with a history of values (null =
/// absent); the store may recover, per key, the last acknowledged value or any value written after it (a call in
/// flight at the crash may or may not have reached the disk), never anything older or never written.
/// Session logs are lists of appends: acknowledged ones must all be there, in order. A session's deletion deletes its
/// log: an entry without text in the list, before which nothing may be left once it is acknowledged.
/// </summary>
internal sealed partial class WorkloadModel
{
    private readonly Lock _gate = new();
    private readonly List<ModelOp> _ops = [];
    private readonly Dictionary<string, List<(ModelOp Op, string? Value)>> _history = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, List<(ModelOp Op, string? Text)>> _logs = new(StringComparer.Ordinal);
    private readonly List<(ModelOp Op, string[] Keys)> _groups = [];

    /// <summary>The sessions that have a log, to read back after recovery.</summary>
    public IReadOnlyList<string> LogSessions
    {
        get
        {
            lock (_gate)
            {
                return [.. _logs.Keys];
            }
        }
    }

    /// <summary>Records a call that sets (or, with null, removes) one key.</summary>
    public ModelOp Set(string key, string? value, string description) => Group(description, [(key, value)], atomic: false);

    /// <summary>Records a call that changes several keys at once (SaveStateAsync), which must land all or nothing.</summary>
    public ModelOp Group(string description, IReadOnlyList<(string Key, string? Value)> changes, bool atomic = true)
    {
        lock (_gate)
        {
            var op = new ModelOp(_ops.Count, description);
            _ops.Add(op);
            var changed = new List<string>();
            foreach ((string key, string? value) in changes)
            {
                List<(ModelOp Op, string? Value)> history = History(key);
                if (LatestLocked(key) != value)
                {
                    changed.Add(key);
                }

                history.Add((op, value));
            }

            if (atomic && changed.Count > 1)
            {
                _groups.Add((op, [.. changed]));
            }

            return op;
        }
    }

    /// <summary>Records an append to a session's log.</summary>
    public ModelOp Append(string sessionId, string text)
    {
        lock (_gate)
        {
            var op = new ModelOp(_ops.Count, $"append to log of {sessionId}");
            _ops.Add(op);
            Log(sessionId).Add((op, text));
            return op;
        }
    }

    /// <summary>
    /// Records a session's deletion: its key removed, then its log deleted (every append before it, whatever the
    /// session held; text appended later starts a new log).
    /// </summary>
    public ModelOp DeleteSession(string sessionKey, string sessionId, string description)
    {
        lock (_gate)
        {
            ModelOp op = Set(sessionKey, null, description);
            Log(sessionId).Add((op, null));
            return op;
        }
    }

    /// <summary>Records a call with no effect on the content (a snapshot), for the step log.</summary>
    public ModelOp Note(string description)
    {
        lock (_gate)
        {
            var op = new ModelOp(_ops.Count, description);
            _ops.Add(op);
            return op;
        }
    }

    public void Acknowledge(ModelOp op)
    {
        lock (_gate)
        {
            op.Acknowledged = true;
        }
    }

    public void Abandon(ModelOp op)
    {
        lock (_gate)
        {
            op.Abandoned = true;
        }
    }

    /// <summary>The newest value issued for a key and not abandoned, as the service's latest view has it.</summary>
    public string? Latest(string key)
    {
        lock (_gate)
        {
            return LatestLocked(key);
        }
    }

    /// <summary>The keys with the prefix whose latest issued value exists.</summary>
    public IReadOnlyList<string> LiveKeys(string prefix)
    {
        lock (_gate)
        {
            return [.. _history.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).Where(k => LatestLocked(k) is not null)
                .Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>A one-line account of the calls, for violation messages.</summary>
    public string Steps()
    {
        lock (_gate)
        {
            return string.Join("; ", _ops.Select(o => $"{o.Sequence}:{o.Description}{(o.Acknowledged ? " (ack)" : " (in flight)")}"));
        }
    }

    /// <summary>
    /// A reader saw <paramref name="content"/> (the state a restarted process loaded): every value it saw counts as
    /// acknowledged from now on, because the service only shows what is durable.
    /// </summary>
    public void Observe(RecoveredContent content)
    {
        lock (_gate)
        {
            foreach ((string key, List<(ModelOp Op, string? Value)> history) in _history)
            {
                string? seen = content.Values.GetValueOrDefault(key);
                int index = history.FindLastIndex(h => h.Value == seen);
                if (index >= 0 && index >= history.FindLastIndex(h => h.Op.Acknowledged))
                {
                    history[index].Op.Acknowledged = true;
                }
            }
        }
    }

    private string? LatestLocked(string key) =>
        _history.TryGetValue(key, out List<(ModelOp Op, string? Value)>? history)
            && history.FindLastIndex(h => !h.Op.Abandoned) is int last && last >= 0 ? history[last].Value : null;

    private List<(ModelOp Op, string? Text)> Log(string sessionId)
    {
        if (!_logs.TryGetValue(sessionId, out List<(ModelOp Op, string? Text)>? appends))
        {
            appends = [];
            _logs[sessionId] = appends;
        }

        return appends;
    }

    private List<(ModelOp Op, string? Value)> History(string key)
    {
        if (!_history.TryGetValue(key, out List<(ModelOp Op, string? Value)>? history))
        {
            history = [];
            _history[key] = history;
        }

        return history;
    }
}
