using StatePersistence.Storage;

namespace StatePersistence.Conformance;

/// <summary>
/// A blob store written against the first contract: only <see cref="IStateBlobStore"/>'s required members, forwarded
/// to <paramref name="inner"/>. Every later member takes its default (no own session log reader, whole listings), and
/// it declares none of the later capabilities (no <see cref="StatePersistence.Retention.IRetentionStore"/>), as a third-party store
/// that was not updated would. A test that holds or fails one later member derives from it and implements
/// <see cref="IStateBlobStore"/> again with that member.
/// </summary>
public class FirstContractBlobStore(IStateBlobStore inner) : IStateBlobStore
{
    /// <summary>The store every member forwards to, for a derived stand-in's own members.</summary>
    protected IStateBlobStore Inner => inner;

    /// <inheritdoc />
    public ValueTask AppendSessionLogAsync(string sessionId, ReadOnlyMemory<byte> utf8Text, Durability durability, CancellationToken cancellationToken = default) =>
        inner.AppendSessionLogAsync(sessionId, utf8Text, durability, cancellationToken);

    /// <inheritdoc />
    public ValueTask<byte[]?> ReadSessionLogAsync(string sessionId, CancellationToken cancellationToken = default) =>
        inner.ReadSessionLogAsync(sessionId, cancellationToken);

    /// <inheritdoc />
    public ValueTask<long> SessionLogSizeAsync(string sessionId, CancellationToken cancellationToken = default) =>
        inner.SessionLogSizeAsync(sessionId, cancellationToken);

    /// <inheritdoc />
    public ValueTask<string> SaveReportAsync(string reportId, ReadOnlyMemory<byte> json, Durability durability, CancellationToken cancellationToken = default) =>
        inner.SaveReportAsync(reportId, json, durability, cancellationToken);

    /// <inheritdoc />
    public ValueTask<byte[]?> LoadReportAsync(string reportId, CancellationToken cancellationToken = default) =>
        inner.LoadReportAsync(reportId, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<string>> ListReportsAsync(CancellationToken cancellationToken = default) =>
        inner.ListReportsAsync(cancellationToken);
}
