namespace StatePersistence.Storage;

/// <summary>
/// Session logs and reports: blobs beside the state, not part of its change log. Kept to whole-object operations
/// plus one append, so an object store (S3, Azure Blob) can implement it without an append primitive: a log append
/// becomes one new object per append (a segment) and a read concatenates a log's segments in order.
/// </summary>
public interface IStateBlobStore
{
    /// <summary>Appends UTF-8 text to a session's log; durable when it returns under <see cref="Durability.Full"/>.</summary>
    ValueTask AppendSessionLogAsync(string sessionId, ReadOnlyMemory<byte> utf8Text, Durability durability,
        CancellationToken cancellationToken = default);

    /// <summary>Reads a session's whole log, or null when it has none.</summary>
    ValueTask<byte[]?> ReadSessionLogAsync(string sessionId, CancellationToken cancellationToken = default);

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
