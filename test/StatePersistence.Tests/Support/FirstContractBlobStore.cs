using StatePersistence.Storage;

namespace StatePersistence.Tests.Support;

/// <summary>
/// A blob store written against the first contract: only <see cref="IStateBlobStore"/>'s required members, forwarded
/// to <paramref name="inner"/>. Every later member takes its default (no own session log reader, whole listings), and
/// it declares none of the later capabilities (no <see cref="Retention.IRetentionStore"/>), as a third-party store
/// that was not updated would.
/// </summary>
internal class FirstContractBlobStore(IStateBlobStore inner) : IStateBlobStore
{
    public ValueTask AppendSessionLogAsync(string sessionId, ReadOnlyMemory<byte> utf8Text, Durability durability, CancellationToken cancellationToken = default) =>
        inner.AppendSessionLogAsync(sessionId, utf8Text, durability, cancellationToken);

    public ValueTask<byte[]?> ReadSessionLogAsync(string sessionId, CancellationToken cancellationToken = default) =>
        inner.ReadSessionLogAsync(sessionId, cancellationToken);

    public ValueTask<long> SessionLogSizeAsync(string sessionId, CancellationToken cancellationToken = default) =>
        inner.SessionLogSizeAsync(sessionId, cancellationToken);

    public ValueTask<string> SaveReportAsync(string reportId, ReadOnlyMemory<byte> json, Durability durability, CancellationToken cancellationToken = default) =>
        inner.SaveReportAsync(reportId, json, durability, cancellationToken);

    public ValueTask<byte[]?> LoadReportAsync(string reportId, CancellationToken cancellationToken = default) =>
        inner.LoadReportAsync(reportId, cancellationToken);

    public ValueTask<IReadOnlyList<string>> ListReportsAsync(CancellationToken cancellationToken = default) =>
        inner.ListReportsAsync(cancellationToken);
}
