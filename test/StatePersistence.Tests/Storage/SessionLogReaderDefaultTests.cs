using System.Text;
using StatePersistence.Conformance;
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
        IStateBlobStore blobs = new FirstContractBlobStore(inner);
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
}
