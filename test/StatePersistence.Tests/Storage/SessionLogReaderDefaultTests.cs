using System.Text;
using StatePersistence.InMemory;
using StatePersistence.Storage;

namespace StatePersistence.Tests.Storage;

/// <summary>
/// A blob store written before <see cref="IStateBlobStore.OpenSessionLogAsync"/> existed still answers it: the default
/// reads the whole log and serves any range of it.
/// </summary>
public sealed class SessionLogReaderDefaultTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AStoreWithoutItsOwnReader_ServesTheWholeReadThroughTheDefault()
    {
        await using var inner = new InMemoryStateStore();
        IStateBlobStore blobs = new WholeReadsOnly(inner);
        await blobs.AppendSessionLogAsync("s1", "one ✓\n"u8.ToArray(), Durability.Full, Ct);
        await blobs.AppendSessionLogAsync("s1", "two\n"u8.ToArray(), Durability.Full, Ct);

        Assert.Null(await blobs.OpenSessionLogAsync("none", Ct));
        await using ISessionLogReader reader = (await blobs.OpenSessionLogAsync("s1", Ct))!;
        using var part = new MemoryStream();
        await reader.CopyToAsync(part, 4, 5, Ct);

        Assert.Equal(12, reader.Length);
        Assert.Equal("✓\nt", Encoding.UTF8.GetString(part.ToArray()));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => reader.CopyToAsync(Stream.Null, 10, 3, Ct).AsTask());
    }

    /// <summary>The blob contract as it was: everything but <see cref="IStateBlobStore.OpenSessionLogAsync"/>.</summary>
    private sealed class WholeReadsOnly(IStateBlobStore inner) : IStateBlobStore
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
}
