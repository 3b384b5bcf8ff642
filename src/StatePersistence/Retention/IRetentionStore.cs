using StatePersistence.Storage;

namespace StatePersistence.Retention;

/// <summary>
/// The retention policy's operations (<see cref="RetentionOptions"/>), for a store that can trim its own session logs
/// and reports: the file store on its files, PostgreSQL in its tables; an object store would list and delete objects
/// (a conditional delete for the report). The background pass calls them, on every instance of a shared store at once:
/// each operation decides under its own lock, so two passes never trim the same log twice. A store without it keeps
/// every log and report; a policy configured for it is a warning at start.
/// </summary>
public interface IRetentionStore
{
    /// <summary>
    /// Claims the pass due now for this instance: true to run it. A store several instances share lets one pass run
    /// per <paramref name="interval"/> across all of them (PostgreSQL: one row, claimed atomically), so the work, and
    /// each problem it finds, is not repeated on every instance; the default, for a store of one writer, always runs it.
    /// An interval of zero always claims.
    /// </summary>
    ValueTask<bool> ClaimPassAsync(TimeSpan interval, CancellationToken cancellationToken = default) => ValueTask.FromResult(true);

    /// <summary>
    /// The ids of the sessions with a log that may hold more than <paramref name="largerThan"/> bytes, stored as the
    /// store keeps them (framing or sealing included); a store may list more (every session with a log), never fewer.
    /// </summary>
    ValueTask<IReadOnlyList<string>> ListSessionLogsAsync(long largerThan, CancellationToken cancellationToken = default);

    /// <summary>
    /// Applies the size cap to one session's live log (see <see cref="RetentionOptions.SessionLogMaxBytes"/> and
    /// <see cref="RetentionOptions.SessionLogRotatedParts"/>): rotates it into part 1, dropping the part beyond
    /// <paramref name="rotatedParts"/>, or with none kept cuts it to its newest whole appends within half the cap.
    /// Null when it is within the cap (or gone).
    /// </summary>
    ValueTask<SessionLogTrim?> CapSessionLogAsync(string sessionId, long maxBytes, int rotatedParts, Durability durability,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes the report when <paramref name="isExpired"/> says so of its JSON, durably, so that a report saved again
    /// meanwhile is judged as saved (never the copy read before). Returns the bytes freed, or null when the report is
    /// kept or gone. A report that does not open is reported as an error, never deleted (the file store moves it aside).
    /// </summary>
    ValueTask<long?> ExpireReportAsync(string reportId, Func<byte[], bool> isExpired, Durability durability,
        CancellationToken cancellationToken = default);
}
