namespace StatePersistence.CrashTests.Enumeration;

internal sealed partial class WorkloadModel
{
    private const int Preview = 120;

    /// <summary>Everything wrong with a recovered state, in words; empty when it is one the calls allow.</summary>
    public List<string> Check(RecoveredContent content)
    {
        lock (_gate)
        {
            var problems = new List<string>();
            foreach (string key in _history.Keys.Union(content.Values.Keys).Order(StringComparer.Ordinal))
            {
                CheckKey(key, content.Values.GetValueOrDefault(key), problems);
            }

            foreach ((string sessionId, List<(ModelOp Op, string? Text)> appends) in _logs)
            {
                CheckLog(sessionId, appends, content.Logs.GetValueOrDefault(sessionId) ?? "", problems);
            }

            foreach ((ModelOp op, string[] keys) in _groups)
            {
                CheckAtomic(op, keys, content, problems);
            }

            if (content.Values.Count == 0 && _history.Values.Any(MustExist))
            {
                problems.Insert(0, "recovery yielded an empty state although acknowledged data exists");
            }

            return problems;
        }
    }

    /// <summary>
    /// What is wrong with a state where nothing had to survive (<see cref="StatePersistence.Storage.Durability.Relaxed"/>
    /// after a power cut): every item loaded must still be a value that was written, whole.
    /// </summary>
    public List<string> CheckIntegrity(RecoveredContent content)
    {
        lock (_gate)
        {
            var problems = new List<string>();
            foreach ((string key, string value) in content.Values)
            {
                if (!_history.TryGetValue(key, out List<(ModelOp Op, string? Value)>? history) || !history.Any(h => h.Value == value))
                {
                    problems.Add($"{key} holds content that was never written (partial or corrupt JSON?): {Short(value)}");
                }
            }

            return problems;
        }
    }

    /// <summary>Whether an acknowledged value exists that no later call in flight may have removed.</summary>
    private static bool MustExist(List<(ModelOp Op, string? Value)> history)
    {
        int lastAcked = history.FindLastIndex(h => h.Op.Acknowledged);
        return lastAcked >= 0 && history.Skip(lastAcked).All(h => h.Value is not null);
    }

    private void CheckKey(string key, string? actual, List<string> problems)
    {
        if (!_history.TryGetValue(key, out List<(ModelOp Op, string? Value)>? history))
        {
            problems.Add($"{key} exists but was never written: {Short(actual)}");
            return;
        }

        int lastAcked = history.FindLastIndex(h => h.Op.Acknowledged);
        IEnumerable<string?> allowed = lastAcked < 0
            ? history.Select(h => h.Value).Prepend(null)
            : history.Skip(lastAcked).Select(h => h.Value);
        if (allowed.Contains(actual))
        {
            return;
        }

        string? expected = lastAcked < 0 ? null : history[lastAcked].Value;
        string acked = lastAcked < 0 ? "nothing acknowledged" : $"acknowledged by '{history[lastAcked].Op.Description}'";
        if (actual is not null && !history.Any(h => h.Value == actual))
        {
            problems.Add($"{key} holds content that was never written (partial or corrupt JSON?): {Short(actual)}; {acked}: {Short(expected)}");
        }
        else if (actual is null)
        {
            problems.Add($"{key} is missing although it was {acked}: {Short(expected)}");
        }
        else if (expected is null)
        {
            problems.Add($"{key} came back although its deletion was {acked}; it holds {Short(actual)}");
        }
        else
        {
            problems.Add($"{key} holds an older version than {acked}: expected {Short(expected)}, got {Short(actual)}");
        }
    }

    /// <summary>
    /// A log must be what its appends left since the last acknowledged deletion. A deletion in flight may not have
    /// happened, or may have happened in part: the text before it is then cut from the front at an append boundary
    /// (the store removes the oldest rotated part first, with a directory fsync after each, so what a crash leaves is
    /// the newest text, never a gap).
    /// </summary>
    private static void CheckLog(string sessionId, List<(ModelOp Op, string? Text)> appends, string actual, List<string> problems)
    {
        int start = appends.FindLastIndex(a => a.Text is null && a.Op.Acknowledged) + 1;
        int lastDeletion = appends.FindLastIndex(a => a.Text is null);
        bool matches = Enumerable.Range(start, Math.Max(lastDeletion, start - 1) - start + 1)
            .Prepend(start)
            .Any(from => LogMatches(appends, from, actual, 0));
        if (!matches)
        {
            string acknowledged = string.Concat(appends.Skip(start).Where(a => a.Op.Acknowledged).Select(a => a.Text));
            problems.Add($"log of {sessionId} is {Short(actual)}; every acknowledged append ({Short(acknowledged)}) must be in it, in order, "
                + "with at most a prefix of the append in flight after them (a deletion in flight may have cut its oldest appends)");
        }
    }

    /// <summary>
    /// Whether the log text from <paramref name="position"/> is appends[index..]: each acknowledged append exactly, each
    /// unacknowledged one whole or not at all, and the last one possibly cut short (a crash mid-append).
    /// </summary>
    private static bool LogMatches(List<(ModelOp Op, string? Text)> appends, int index, string actual, int position)
    {
        if (index == appends.Count)
        {
            return position == actual.Length;
        }

        (ModelOp op, string? deletion) = appends[index];
        if (deletion is null)
        {
            // A deletion not acknowledged (CheckLog starts after the last one that was): here, as not having happened.
            return LogMatches(appends, index + 1, actual, position);
        }

        string text = deletion;
        bool whole = string.CompareOrdinal(actual, position, text, 0, text.Length) == 0 && position + text.Length <= actual.Length;
        if (op.Acknowledged)
        {
            return whole && LogMatches(appends, index + 1, actual, position + text.Length);
        }

        if (whole && LogMatches(appends, index + 1, actual, position + text.Length))
        {
            return true;
        }

        if (LogMatches(appends, index + 1, actual, position))
        {
            return true;
        }

        bool rest = appends.Skip(index + 1).All(a => !a.Op.Acknowledged);
        string tail = actual[position..];
        return rest && tail.Length < text.Length && text.StartsWith(tail, StringComparison.Ordinal);
    }

    /// <summary>A multi-key call in flight must show all its changes or none.</summary>
    private void CheckAtomic(ModelOp op, string[] keys, RecoveredContent content, List<string> problems)
    {
        var landed = new List<string>();
        var missed = new List<string>();
        foreach (string key in keys)
        {
            List<(ModelOp Op, string? Value)> history = _history[key];
            int at = history.FindIndex(h => h.Op == op);
            string? actual = content.Values.GetValueOrDefault(key);

            // Which writes could have produced what is there (-1: the key never existed); ambiguous ones are skipped.
            var sources = Enumerable.Range(0, history.Count).Where(i => history[i].Value == actual).ToList();
            if (actual is null && history.Take(at).All(h => h.Value is null))
            {
                sources.Add(-1);
            }

            if (sources.Count > 0 && sources.All(i => i >= at))
            {
                landed.Add(key);
            }
            else if (sources.Count > 0 && sources.All(i => i < at))
            {
                missed.Add(key);
            }
        }

        if (landed.Count > 0 && missed.Count > 0)
        {
            problems.Add($"'{op.Description}' landed in part: {string.Join(", ", landed)} changed but {string.Join(", ", missed)} did not");
        }
    }

    private static string Short(string? text) => text is null ? "(absent)"
        : text.Length <= Preview ? "'" + Escape(text) + "'"
        : "'" + Escape(text[..Preview]) + $"…' ({text.Length} chars)";

    private static string Escape(string text) =>
        text.Replace("\0", "\\0", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
