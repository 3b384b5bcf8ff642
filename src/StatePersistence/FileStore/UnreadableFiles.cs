using System.Collections.Concurrent;
using StatePersistence.Errors;

namespace StatePersistence.FileStore;

/// <summary>
/// Stored files the running store found it cannot open for lack of the right key (one the key ring lacks, has revoked,
/// or holds other key material for) or codec, each with the refusal's message, which names the file and the key; and
/// item files the scrub could not read because the file system refused (permissions, an I/O error), each with a reason
/// naming the file and the OS error. Such a file is intact as far as anyone can tell, so it is never moved aside,
/// rewritten or deleted for it: it is listed here, which keeps health Degraded and the unreadable-files gauge above 0
/// until the operator supplies the key or puts the file's permissions right and a scrub or a read opens it again.
/// </summary>
internal sealed class UnreadableFiles
{
    private readonly ConcurrentDictionary<string, string> _reasons = new(StringComparer.Ordinal);

    public int Count => _reasons.Count;

    /// <summary>Lists the file <paramref name="refusal"/> names; true when it was not listed yet.</summary>
    public bool Add(StateFormatException refusal, string path) => Add(path, refusal.Message);

    /// <summary>Lists <paramref name="path"/> with <paramref name="reason"/>; true when it was not listed yet.</summary>
    public bool Add(string path, string reason)
    {
        bool added = !_reasons.ContainsKey(path);
        _reasons[path] = reason;
        return added;
    }

    /// <summary>The file opened: whatever stopped it before was fixed.</summary>
    public void Remove(string path) => _reasons.TryRemove(path, out _);

    /// <summary>Takes off the list every file <paramref name="stale"/> says is no longer refused (gone, or opened by a later pass).</summary>
    public void RemoveWhere(Func<string, bool> stale)
    {
        foreach (string path in _reasons.Keys.Where(stale))
        {
            _reasons.TryRemove(path, out _);
        }
    }

    /// <summary>Every listed file's reason, in the order of their paths.</summary>
    public IReadOnlyList<string> Reasons() => [.. _reasons.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => r.Value)];
}
