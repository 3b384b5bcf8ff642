namespace StatePersistence.Storage;

/// <summary>
/// Session logs and reports: blobs beside the state, not part of its change log. Kept to whole-object operations
/// plus one append, so an object store (S3, Azure Blob) can implement it without an append primitive: a log append
/// becomes one new object per append (a segment), a read concatenates a log's segments in order, and a read of a range
/// of the text (<see cref="OpenSessionLogAsync"/>) is a ranged GET of the segments it spans.
/// </summary>
public interface IStateBlobStore
{
    /// <summary>Appends UTF-8 text to a session's log; durable when it returns under <see cref="Durability.Full"/>.</summary>
    ValueTask AppendSessionLogAsync(string sessionId, ReadOnlyMemory<byte> utf8Text, Durability durability,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes <paramref name="utf8Text"/> as a session's log only when the session has no log (nothing appended since it
    /// was created or last deleted, rotated parts included: what <see cref="ReadSessionLogAsync"/> reads as null);
    /// returns false, writing nothing, when it has one. Of several creates of one log at the
    /// same time, from any number of processes, exactly one writes. What a restore of a task archive writes a log with:
    /// two restores of one archive (a PostgreSQL run that lost its archive lock, and the run that took the lock over)
    /// must not both append it, leaving the text twice. An ordinary append racing a create may land before or after it.
    /// An object store creates the log's first segment with a conditional put (<c>If-None-Match: *</c>). The default,
    /// for a store written before this method, reads the log and appends when there is none: not atomic against a
    /// concurrent writer; every store of this library overrides it.
    /// </summary>
    async ValueTask<bool> TryCreateSessionLogAsync(string sessionId, ReadOnlyMemory<byte> utf8Text, Durability durability,
        CancellationToken cancellationToken = default)
    {
        if (await ReadSessionLogAsync(sessionId, cancellationToken).ConfigureAwait(false) is not null)
        {
            return false;
        }

        await AppendSessionLogAsync(sessionId, utf8Text, durability, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Reads a session's whole log, or null when it has none.</summary>
    ValueTask<byte[]?> ReadSessionLogAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Opens a session's log for reading in bounded memory, whole or a byte range of its text (see
    /// <see cref="ISessionLogReader"/>), or null when it has none. Damage found on opening is handled as
    /// <see cref="ReadSessionLogAsync"/> handles it. The default reads the whole log (<see cref="ReadSessionLogAsync"/>)
    /// and serves it from memory, so a store written before this method keeps working; every store of this library
    /// overrides it to read an append at a time.
    /// </summary>
    async ValueTask<ISessionLogReader?> OpenSessionLogAsync(string sessionId, CancellationToken cancellationToken = default) =>
        await ReadSessionLogAsync(sessionId, cancellationToken).ConfigureAwait(false) is { } text
            ? new SessionLogReading.BufferedLogReader(sessionId, text)
            : null;

    /// <summary>
    /// One page of the sessions that have a log (any text stored, rotated parts included): their ids after
    /// <paramref name="after"/> in ordinal order (from the first when null), at most <paramref name="limit"/> of them.
    /// What a copy of the whole store (an export) walks; an object store lists it by prefix with a start-after key.
    /// The default, for a store written before this method, takes it from the retention listing when the store has one
    /// (<see cref="Retention.IRetentionStore.ListSessionLogsAsync"/>, which may leave out a log with only rotated parts)
    /// and otherwise throws <see cref="NotSupportedException"/>: a copy must not silently leave logs out.
    /// </summary>
    async ValueTask<IReadOnlyList<string>> ListSessionLogsAsync(string? after, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        if (this is not Retention.IRetentionStore retention)
        {
            throw new NotSupportedException($"The store {GetType().Name} does not list its session logs (IStateBlobStore.ListSessionLogsAsync).");
        }

        return OrdinalPage.After((await retention.ListSessionLogsAsync(0, cancellationToken).ConfigureAwait(false)).Order(StringComparer.Ordinal), after, limit);
    }

    /// <summary>
    /// The bytes the store holds for a session's live log (its own framing included), 0 when it has none: what a quota
    /// on log size measures, without reading the log. Parts the retention policy rotated out are not counted, so a
    /// rotation makes room under the quota again.
    /// </summary>
    ValueTask<long> SessionLogSizeAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Whether a session has a log (what <see cref="ReadSessionLogAsync"/> reads as null is none; a log whose text is
    /// all in rotated parts is one), learned without reading its text where the store can: what a deletion of the log
    /// of a session that is not there asks before it answers that there is nothing to delete. The file store looks for
    /// the log's files, PostgreSQL probes the primary key, the in-memory store counts its appends. The default, for a
    /// store written before this method, asks the live log's size and, when that is 0, opens the log
    /// (<see cref="OpenSessionLogAsync"/>), which may read it whole.
    /// </summary>
    async ValueTask<bool> SessionLogExistsAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        if (await SessionLogSizeAsync(sessionId, cancellationToken).ConfigureAwait(false) > 0)
        {
            return true;
        }

        ISessionLogReader? log = await OpenSessionLogAsync(sessionId, cancellationToken).ConfigureAwait(false);
        if (log is null)
        {
            return false;
        }

        await log.DisposeAsync().ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Deletes a session's whole log (the parts the retention policy rotated out included), durably when it returns; a
    /// session with no log is not an error. No append made before it returns is left behind: a later append starts a
    /// new log. An object store deletes the log's objects by prefix. The default serves a store that removes logs for
    /// its task archive (<see cref="Retention.ITaskArchiveStore.RemoveSessionLogAsync"/>) and otherwise throws
    /// <see cref="NotSupportedException"/>, so a store written before this method keeps its logs and says so.
    /// </summary>
    ValueTask DeleteSessionLogAsync(string sessionId, CancellationToken cancellationToken = default) =>
        this is Retention.ITaskArchiveStore archives
            ? archives.RemoveSessionLogAsync(sessionId, cancellationToken)
            : throw new NotSupportedException($"The store {GetType().Name} cannot delete a session log (IStateBlobStore.DeleteSessionLogAsync).");

    /// <summary>
    /// Holds back appends to a session's log, in every process sharing the store, until the result is disposed. A
    /// session's deletion holds it over both its steps (the record, then the log), so that an append to a session
    /// created anew under the id between them lands after the log's deletion instead of being deleted by it. The default
    /// holds nothing: the service already holds back its own appends, and a store only one process writes has no others.
    /// A store several processes share overrides it (PostgreSQL: an advisory lock per session id, which appends take shared).
    /// </summary>
    ValueTask<IAsyncDisposable> HoldSessionLogAppendsAsync(string sessionId, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IAsyncDisposable>(NothingHeld.Instance);

    /// <summary>Stores a report's JSON, replacing an older one with the same id; returns where it is stored, for messages.</summary>
    ValueTask<string> SaveReportAsync(string reportId, ReadOnlyMemory<byte> json, Durability durability,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores a report's JSON only when there is no report with that id; returns false, writing nothing, when there is
    /// one. Of several creates of one report at the same time exactly one writes. What a restore of a task archive
    /// writes a report with: a report saved under the id between the restore's check and its write is kept, not
    /// replaced. An object store writes it with a conditional put (<c>If-None-Match: *</c>). The default, for a store
    /// written before this method, loads and then saves: not atomic against a concurrent writer; every store of this
    /// library overrides it.
    /// </summary>
    async ValueTask<bool> TryCreateReportAsync(string reportId, ReadOnlyMemory<byte> json, Durability durability,
        CancellationToken cancellationToken = default)
    {
        if (await LoadReportAsync(reportId, cancellationToken).ConfigureAwait(false) is not null)
        {
            return false;
        }

        await SaveReportAsync(reportId, json, durability, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Loads a report's JSON, or null when there is none.</summary>
    ValueTask<byte[]?> LoadReportAsync(string reportId, CancellationToken cancellationToken = default);

    /// <summary>The ids of all stored reports, sorted (ordinal).</summary>
    ValueTask<IReadOnlyList<string>> ListReportsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// One page of <see cref="ListReportsAsync(CancellationToken)"/>: the ids after <paramref name="after"/> in ordinal
    /// order (from the first when null), at most <paramref name="limit"/> of them. A listing read a page at a time must
    /// not cost the whole set per page. The default takes the page from the whole listing, so a store written before
    /// this method keeps working; the file and PostgreSQL stores answer from an index (an object store would list
    /// with a start-after key and a page size).
    /// </summary>
    async ValueTask<IReadOnlyList<string>> ListReportsAsync(string? after, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return OrdinalPage.After(await ListReportsAsync(cancellationToken).ConfigureAwait(false), after, limit);
    }

    /// <summary>
    /// How many reports the store holds, for a quota on their number. The default counts the whole listing; the
    /// stores of this library keep the count.
    /// </summary>
    async ValueTask<long> CountReportsAsync(CancellationToken cancellationToken = default) =>
        (await ListReportsAsync(cancellationToken).ConfigureAwait(false)).Count;
}
