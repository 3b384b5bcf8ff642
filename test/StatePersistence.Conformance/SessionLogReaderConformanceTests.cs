using System.Text;
using StatePersistence.Storage;

namespace StatePersistence.Conformance;

/// <summary>
/// A session log read through <see cref="IStateBlobStore.OpenSessionLogAsync"/>: its length, the whole text and any
/// byte range of it, as the log was when opened, across appends (and their checkpoints, every mebibyte of text).
/// </summary>
/// <typeparam name="THarness">The store's harness.</typeparam>
public abstract class SessionLogReaderConformanceTests<THarness> : StoreConformanceBase<THarness>
    where THarness : StoreHarness, new()
{
    private static readonly string[] Appends = ["first line\n", "ünïcode ✓\n", "x", "", "last\n"];

    /// <summary>Every range of a small log, append boundaries and multi-byte characters included, is the text's bytes there.</summary>
    [Fact]
    public async Task OpenedLog_CopiesEveryRangeOfItsText_AcrossRestart()
    {
        byte[] expected = Encoding.UTF8.GetBytes(string.Concat(Appends));
        (IStateStore store, _) = await OpenAsync();
        await using (store)
        {
            IStateBlobStore blobs = RequireBlobs(store);
            foreach (string append in Appends.Where(a => a.Length > 0))
            {
                await blobs.AppendSessionLogAsync("s1", Encoding.UTF8.GetBytes(append), Durability.Full, Ct);
            }
        }

        (IStateStore reopened, _) = await OpenAsync();
        await using (reopened)
        {
            IStateBlobStore blobs = RequireBlobs(reopened);
            await using ISessionLogReader reader = (await blobs.OpenSessionLogAsync("s1", Ct))!;
            Assert.Equal(expected.Length, reader.Length);
            Assert.Equal(expected, await CopyAsync(reader, 0, reader.Length));
            for (int offset = 0; offset <= expected.Length; offset++)
            {
                foreach (int count in new[] { 0, 1, 3, expected.Length - offset }.Where(c => c >= 0 && offset + c <= expected.Length).Distinct())
                {
                    Assert.Equal(expected.AsSpan(offset, count).ToArray(), await CopyAsync(reader, offset, count));
                }
            }
        }
    }

    /// <summary>A log is read as it was opened: an append made since is not part of it, and the next open has it.</summary>
    [Fact]
    public async Task OpenedLog_LeavesOutAppendsMadeSince()
    {
        (IStateStore store, _) = await OpenAsync();
        await using (store)
        {
            IStateBlobStore blobs = RequireBlobs(store);
            await blobs.AppendSessionLogAsync("s1", "one\n"u8.ToArray(), Durability.Full, Ct);
            await using ISessionLogReader reader = (await blobs.OpenSessionLogAsync("s1", Ct))!;
            await blobs.AppendSessionLogAsync("s1", "two\n"u8.ToArray(), Durability.Full, Ct);

            Assert.Equal(4, reader.Length);
            Assert.Equal("one\n", Encoding.UTF8.GetString(await CopyAsync(reader, 0, reader.Length)));
            await using ISessionLogReader again = (await blobs.OpenSessionLogAsync("s1", Ct))!;
            Assert.Equal("one\ntwo\n", Encoding.UTF8.GetString(await CopyAsync(again, 0, again.Length)));
        }
    }

    /// <summary>A session without a log opens as null; a range outside the text is refused, naming the session and the length.</summary>
    [Fact]
    public async Task OpenedLog_IsNullWithoutALog_AndRefusesARangeOutsideItsText()
    {
        (IStateStore store, _) = await OpenAsync();
        await using (store)
        {
            IStateBlobStore blobs = RequireBlobs(store);
            Assert.Null(await blobs.OpenSessionLogAsync("none", Ct));
            await blobs.AppendSessionLogAsync("s1", "0123456789"u8.ToArray(), Durability.Full, Ct);
            await using ISessionLogReader reader = (await blobs.OpenSessionLogAsync("s1", Ct))!;

            foreach ((long offset, long count) in new (long, long)[] { (11, 0), (-1, 1), (0, 11), (5, 6), (2, -1) })
            {
                var refused = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => CopyAsync(reader, offset, count));
                Assert.Contains("session 's1'", refused.Message, StringComparison.Ordinal);
                Assert.Contains("10 bytes", refused.Message, StringComparison.Ordinal);
            }
        }
    }

    /// <summary>
    /// A log of several mebibytes (past several checkpoints) in appends of uneven size: ranges that start anywhere,
    /// across appends and checkpoints, are its bytes there.
    /// </summary>
    [Fact]
    public async Task LargeLog_RangesAcrossCheckpoints_AreItsBytes()
    {
        var expected = new MemoryStream();
        (IStateStore store, _) = await OpenAsync();
        await using (store)
        {
            IStateBlobStore blobs = RequireBlobs(store);
            for (int i = 0; expected.Length < 3_500_000; i++)
            {
                byte[] append = Encoding.UTF8.GetBytes($"append {i:D5} " + new string((char)('a' + (i % 26)), 1000 + (i * 7919 % 90_000)) + "\n");
                await blobs.AppendSessionLogAsync("big", append, Durability.Relaxed, Ct);
                expected.Write(append);
            }

            byte[] text = expected.ToArray();
            await using ISessionLogReader reader = (await blobs.OpenSessionLogAsync("big", Ct))!;
            Assert.Equal(text.Length, reader.Length);
            Assert.Equal(text, await CopyAsync(reader, 0, reader.Length));
            foreach ((long offset, long count) in new (long, long)[]
                { (1_048_575, 2), (1_048_576, 1), (2_000_000, 1_000_000), (text.Length - 10, 10), (3_000_001, 0), (17, text.Length - 17) })
            {
                Assert.Equal(text.AsSpan((int)offset, (int)count).ToArray(), await CopyAsync(reader, offset, count));
            }
        }
    }

    private static async Task<byte[]> CopyAsync(ISessionLogReader reader, long offset, long count)
    {
        using var copy = new MemoryStream();
        await reader.CopyToAsync(copy, offset, count, Ct);
        return copy.ToArray();
    }

    private static IStateBlobStore RequireBlobs(IStateStore store)
    {
        if (store is not IStateBlobStore blobs)
        {
            Assert.Skip($"{store.GetType().Name} keeps no blobs (it does not implement IStateBlobStore).");
            throw new InvalidOperationException("unreachable: Assert.Skip throws");
        }

        return blobs;
    }
}
