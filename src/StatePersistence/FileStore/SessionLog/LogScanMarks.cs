namespace StatePersistence.FileStore.SessionLog;

/// <summary>
/// The <see cref="LogScanMark"/> of recently read logs, at most <see cref="Capacity"/> of them. A mark is forgotten
/// whenever the store changes a log other than by appending to it (a rotation, a trim, a repair, a re-encryption, a
/// removal, a failed append), and a scan that began before any such change is not remembered: its files may be the
/// ones the change replaced. <see cref="LogScanMark.Fits"/> also compares each file's device and inode, but that alone
/// is not enough: a rewrite frees the old file's inode number, and a later rewrite's temp file may be given it.
/// </summary>
internal sealed class LogScanMarks
{
    /// <summary>How many logs' marks are kept; one more evicts another (a mark is only a saving, never needed).</summary>
    public const int Capacity = 256;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, LogScanMark> _marks = new(StringComparer.Ordinal);
    private long _changes;

    /// <summary>Counts the changes so far: read when a log's files are opened, handed back to <see cref="Remember"/>.</summary>
    public long Changes
    {
        get
        {
            lock (_gate)
            {
                return _changes;
            }
        }
    }

    public LogScanMark? Find(string sessionId)
    {
        lock (_gate)
        {
            return _marks.GetValueOrDefault(sessionId);
        }
    }

    /// <summary>Keeps <paramref name="mark"/> unless a log was changed since its files were opened (<paramref name="openedAt"/>).</summary>
    public void Remember(string sessionId, LogScanMark mark, long openedAt)
    {
        lock (_gate)
        {
            if (_changes != openedAt)
            {
                return;
            }

            if (_marks.Count >= Capacity && !_marks.ContainsKey(sessionId))
            {
                _marks.Remove(_marks.Keys.First());
            }

            _marks[sessionId] = mark;
        }
    }

    /// <summary>A log was changed other than by an append (called under its gate, before or as it changes).</summary>
    public void Forget(string sessionId)
    {
        lock (_gate)
        {
            _marks.Remove(sessionId);
            _changes++;
        }
    }

    /// <summary>Every log may have changed (start-up's repairs of the logs' tails).</summary>
    public void ForgetAll()
    {
        lock (_gate)
        {
            _marks.Clear();
            _changes++;
        }
    }
}
