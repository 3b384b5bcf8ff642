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
    /// The bytes the store holds for a session's log (its own framing included), 0 when it has none: what a quota
    /// on log size measures, without reading the log.
    /// </summary>
    ValueTask<long> SessionLogSizeAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>Stores a report's JSON, replacing an older one with the same id; returns where it is stored, for messages.</summary>
    ValueTask<string> SaveReportAsync(string reportId, ReadOnlyMemory<byte> json, Durability durability,
        CancellationToken cancellationToken = default);

    /// <summary>Loads a report's JSON, or null when there is none.</summary>
    ValueTask<byte[]?> LoadReportAsync(string reportId, CancellationToken cancellationToken = default);

    /// <summary>The ids of all stored reports, sorted (ordinal).</summary>
    ValueTask<IReadOnlyList<string>> ListReportsAsync(CancellationToken cancellationToken = default);
}
