using StatePersistence.Ids;
using StatePersistence.Retention;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.InMemory;

/// <summary>
/// The retention policy on objects: a store that keeps a session log one object per append caps it by moving marks
/// and deleting whole objects, never by rewriting one, and expires a report by a delete conditional on the object read.
/// What an object store (S3, Azure blobs) would do with its own listing and conditional delete.
/// </summary>
public sealed partial class InMemoryStateStore : IRetentionStore
{
    /// <inheritdoc />
    ValueTask<IReadOnlyList<string>> IRetentionStore.ListSessionLogsAsync(long largerThan, CancellationToken cancellationToken)
    {
        var ids = new List<string>();
        foreach ((string id, InMemorySessionLog log) in _storage.SessionLogs)
        {
            lock (log)
            {
                if (log.LiveBytes > largerThan)
                {
                    ids.Add(id);
                }
            }
        }

        ids.Sort(StringComparer.Ordinal);
        return ValueTask.FromResult<IReadOnlyList<string>>(ids);
    }

    /// <inheritdoc />
    /// <remarks>
    /// A rotation marks the live log as part 1 and deletes the appends of the parts beyond
    /// <paramref name="rotatedParts"/>; with none kept, the oldest appends of the live log go, the newest whole ones
    /// within half the cap staying (parts a larger policy left stay too, as on the file store). Under the log's lock,
    /// so no append interleaves.
    /// </remarks>
    ValueTask<SessionLogTrim?> IRetentionStore.CapSessionLogAsync(string sessionId, long maxBytes, int rotatedParts, Durability durability,
        CancellationToken cancellationToken)
    {
        StateId.Validate(sessionId, "session");
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(rotatedParts);
        if (!_storage.SessionLogs.TryGetValue(sessionId, out InMemorySessionLog? log))
        {
            return ValueTask.FromResult<SessionLogTrim?>(null);
        }

        lock (log)
        {
            long live = log.LiveBytes;
            if (live <= maxBytes)
            {
                return ValueTask.FromResult<SessionLogTrim?>(null);
            }

            return ValueTask.FromResult<SessionLogTrim?>(rotatedParts > 0 ? Rotate(sessionId, log, live, rotatedParts) : DropOldest(sessionId, log, live, maxBytes));
        }
    }

    private static SessionLogTrim Rotate(string sessionId, InMemorySessionLog log, long live, int rotatedParts)
    {
        log.PartEnds.Add(log.Appends.Count);
        long freed = 0;
        int beyond = log.PartEnds.Count - rotatedParts;
        if (beyond > 0)
        {
            int dropped = log.PartEnds[beyond - 1];
            freed = log.Bytes(0, dropped);
            log.DropOldest(dropped);
        }

        return new SessionLogTrim(sessionId, live, freed, Rotated: true);
    }

    private static SessionLogTrim DropOldest(string sessionId, InMemorySessionLog log, long live, long maxBytes)
    {
        int start = log.LiveStart;
        long budget = maxBytes / 2;
        long kept = 0;
        int first = log.Appends.Count;
        while (first > start && kept + log.Appends[first - 1].Length <= budget)
        {
            first--;
            kept += log.Appends[first].Length;
        }

        log.Appends.RemoveRange(start, first - start);
        return new SessionLogTrim(sessionId, live, live - kept, Rotated: false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// The delete names the stored object that was judged: a report saved again since it was read is another object,
    /// and stays. A report that does not open throws (<see cref="InvalidDataException"/>, or the codec's
    /// <see cref="System.Security.Cryptography.CryptographicException"/>) and stays.
    /// </remarks>
    ValueTask<long?> IRetentionStore.ExpireReportAsync(string reportId, Func<byte[], bool> isExpired, Durability durability,
        CancellationToken cancellationToken)
    {
        StateId.Validate(reportId, "report");
        ArgumentNullException.ThrowIfNull(isExpired);
        if (!_storage.Reports.TryGetValue(reportId, out byte[]? stored))
        {
            return ValueTask.FromResult<long?>(null);
        }

        byte[] json = _envelope.Open(PayloadKind.Report, reportId, stored, $"{Location}/reports/{reportId}");
        if (!isExpired(json) || !_storage.Reports.TryRemove(new KeyValuePair<string, byte[]>(reportId, stored)))
        {
            return ValueTask.FromResult<long?>(null);
        }

        return ValueTask.FromResult<long?>(stored.Length);
    }
}
