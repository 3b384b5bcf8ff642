using StatePersistence.Storage;

namespace StatePersistence.Retention;

/// <summary>
/// The retention policy's operations, for a store that keeps session logs and reports as files (the file store);
/// the background pass skips what a store without it keeps.
/// </summary>
internal interface IRetentionStore
{
    /// <summary>The ids of the sessions with a live log.</summary>
    IReadOnlyList<string> ListSessionLogs();

    /// <summary>Applies the size cap to one session's live log (see <see cref="RetentionOptions.SessionLogMaxBytes"/>); null when it is within the cap.</summary>
    ValueTask<SessionLogTrim?> CapSessionLogAsync(string sessionId, long maxBytes, int rotatedParts, Durability durability, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes the report when <paramref name="isExpired"/> says so of its JSON, durably, under the lock its saves take,
    /// so a report saved again meanwhile is judged as saved. Returns the bytes freed, or null when the report is kept or
    /// gone. A report that does not open is moved aside, reported and raised as an error, never deleted.
    /// </summary>
    ValueTask<long?> ExpireReportAsync(string reportId, Func<byte[], bool> isExpired, Durability durability, CancellationToken cancellationToken);
}
