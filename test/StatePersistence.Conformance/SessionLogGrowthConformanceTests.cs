using System.Text;
using StatePersistence.Retention;
using StatePersistence.Storage;

namespace StatePersistence.Conformance;

/// <summary>
/// A session log only grows at its end: after each append a read gives back the earlier read's bytes exactly, then the
/// append's, whatever the append (empty, one byte, half of a multi-byte character, NULs, a mebibyte around the stores'
/// checkpoint spacing), across the store's rotation into parts (more than nine of them, so part numbers sort as numbers)
/// and across restarts. A tailing client relies on it: it reads from the offset it stopped at, and text rewritten,
/// reordered or dropped before that offset would reach it wrong or never.
/// </summary>
/// <typeparam name="THarness">The store's harness.</typeparam>
public abstract class SessionLogGrowthConformanceTests<THarness> : StoreConformanceBase<THarness>
    where THarness : StoreHarness, new()
{
    private const string Session = "grows";
    private const int Mebibyte = 1 << 20;

    /// <summary>
    /// Every append, awkward ones included, leaves the text read before it as it was and adds its own bytes after it,
    /// in a whole read, a streamed one, and a range read from the offset the earlier read ended at.
    /// </summary>
    [Fact]
    public async Task SessionLog_GrowsOnlyAtItsEnd_ThroughAwkwardAppends_AcrossRestarts()
    {
        byte[] seen = [];
        (IStateStore store, _) = await OpenAsync();
        await using (store)
        {
            IStateBlobStore blobs = RequireBlobs(store);
            foreach (byte[] append in AwkwardAppends())
            {
                seen = await AppendAndCheckAsync(blobs, seen, append);
            }
        }

        (IStateStore reopened, _) = await OpenAsync();
        await using (reopened)
        {
            IStateBlobStore blobs = RequireBlobs(reopened);
            Assert.Equal(seen, await ReadAsync(blobs));
            seen = await AppendAndCheckAsync(blobs, seen, [0x98, 0x80]); // the rest of the emoji the last append began
            seen = await AppendAndCheckAsync(blobs, seen, [.. Filler(Mebibyte + 1, 'L'), .. "\n"u8]);
        }

        Assert.Equal(seen, await ReopenedTextAsync());
        Assert.Contains("ü😀€", Encoding.UTF8.GetString(seen), StringComparison.Ordinal);
    }

    /// <summary>
    /// For a store that declares <see cref="IRetentionStore"/>: rotations into parts (with room for every part, so none
    /// is dropped) move the text, never change it. The appends twice over, each followed by a rotation when the live
    /// log is past the 1-byte cap, and two restarts between them: more than ten parts, so a read that took part 10
    /// for newer than part 2 (by name, not by number) would serve text out of order.
    /// </summary>
    [Fact]
    public async Task SessionLog_GrowsOnlyAtItsEnd_AcrossRotationsIntoParts_AndRestarts()
    {
        byte[][] appends = [.. AwkwardAppends(), .. AwkwardAppends()];
        byte[] seen = [];
        int rotations = 0;
        foreach (byte[][] run in appends.Chunk((appends.Length + 2) / 3))
        {
            (IStateStore store, _) = await OpenAsync();
            await using (store)
            {
                (IStateBlobStore blobs, IRetentionStore retention) = RequireRetention(store);
                Assert.Equal(seen.Length == 0 ? null : seen, await blobs.ReadSessionLogAsync(Session, Ct));
                foreach (byte[] append in run)
                {
                    seen = await AppendAndCheckAsync(blobs, seen, append);
                    bool past = await blobs.SessionLogSizeAsync(Session, Ct) > 1;
                    SessionLogTrim? trim = await retention.CapSessionLogAsync(Session, 1, RetentionOptions.MaxRotatedParts, Durability.Full, Ct);
                    Assert.True(past ? trim is { Rotated: true, BytesFreed: 0 } : trim is null,
                        $"a cap of a live log {(past ? "past" : "within")} 1 byte, with room for every part, gave {trim?.ToString() ?? "nothing"}");
                    rotations += trim is null ? 0 : 1;
                    Assert.Equal(seen, await ReadAsync(blobs));
                    Assert.Equal(seen, await StreamedAsync(blobs, 0));
                }
            }
        }

        Assert.True(rotations > 10, $"only {rotations} rotations");
        Assert.Equal(seen, await ReopenedTextAsync());
    }

    /// <summary>
    /// The appends, in order: plain lines, an empty append (allowed: it makes a log that reads as empty text), one
    /// byte, characters of two, three and four bytes split across appends, NULs (a crash's tail is NULs too), the
    /// words of a store's own framing, and appends of a mebibyte less one, one and a mebibyte and one. The last append
    /// ends half-way through an emoji: what follows it must not be joined to it by any store.
    /// </summary>
    private static IEnumerable<byte[]> AwkwardAppends()
    {
        yield return "first line\n"u8.ToArray();
        yield return [];
        yield return "x"u8.ToArray();
        yield return [0xC3];                // ü, split 1 + 1
        yield return [0xBC];
        yield return [0xF0, 0x9F];          // 😀, split 2 + 2
        yield return [0x98, 0x80];
        yield return [0xE2];                // €, split 1 + 2
        yield return [0x82, 0xAC];
        yield return [0, 0, 0];
        yield return "\nSPLG SPLF SPLE\r\n"u8.ToArray();
        yield return [];
        yield return [.. Filler(Mebibyte - 1, 'a')];
        yield return "b"u8.ToArray();
        yield return [.. Filler(Mebibyte + 1, 'c')];
        yield return [0];
        yield return [0xF0, 0x9F];
    }

    /// <summary>Appends, then requires the log to read as <paramref name="seen"/> followed by the append, three ways; returns it.</summary>
    private static async Task<byte[]> AppendAndCheckAsync(IStateBlobStore blobs, byte[] seen, byte[] append)
    {
        await blobs.AppendSessionLogAsync(Session, append, Durability.Full, Ct);
        byte[] expected = [.. seen, .. append];
        byte[] read = await ReadAsync(blobs);
        Assert.True(read.AsSpan().StartsWith(seen), $"the {seen.Length} bytes read before an append of {append.Length} bytes changed: {FirstDifference(seen, read)}");
        Assert.Equal(expected.Length, read.Length);
        Assert.True(expected.AsSpan().SequenceEqual(read), $"an append of {append.Length} bytes after {seen.Length} was not read back at the end: {FirstDifference(expected, read)}");
        Assert.Equal(append, await StreamedAsync(blobs, seen.Length));
        Assert.Equal(expected, await StreamedAsync(blobs, 0));
        return read;
    }

    private static async Task<byte[]> ReadAsync(IStateBlobStore blobs) =>
        await blobs.ReadSessionLogAsync(Session, Ct) ?? throw new Xunit.Sdk.XunitException("the log reads as none after an append");

    /// <summary>The text from <paramref name="offset"/> to the end, through a reader opened now (a tailing client's read).</summary>
    private static async Task<byte[]> StreamedAsync(IStateBlobStore blobs, long offset)
    {
        await using ISessionLogReader reader = await blobs.OpenSessionLogAsync(Session, Ct)
            ?? throw new Xunit.Sdk.XunitException("the log opens as none after an append");
        using var copy = new MemoryStream();
        await reader.CopyToAsync(copy, offset, reader.Length - offset, Ct);
        return copy.ToArray();
    }

    private async Task<byte[]> ReopenedTextAsync()
    {
        (IStateStore store, _) = await OpenAsync();
        await using (store)
        {
            return await ReadAsync(RequireBlobs(store));
        }
    }

    private static string FirstDifference(byte[] expected, byte[] actual)
    {
        int at = expected.AsSpan().CommonPrefixLength(actual);
        return $"first difference at byte {at} (expected {expected.Length} bytes, read {actual.Length})";
    }

    private static IEnumerable<byte> Filler(int length, char letter) =>
        Enumerable.Range(0, length).Select(i => i % 100 == 99 ? (byte)'\n' : (byte)letter);

    private static IStateBlobStore RequireBlobs(IStateStore store)
    {
        if (store is not IStateBlobStore blobs)
        {
            Assert.Skip($"{store.GetType().Name} keeps no blobs (it does not implement IStateBlobStore).");
            throw new InvalidOperationException("unreachable: Assert.Skip throws");
        }

        return blobs;
    }

    private static (IStateBlobStore Blobs, IRetentionStore Retention) RequireRetention(IStateStore store)
    {
        IStateBlobStore blobs = RequireBlobs(store);
        if (store is not IRetentionStore retention)
        {
            Assert.Skip($"{store.GetType().Name} does not declare IRetentionStore: it has no rotation into parts to cross.");
            throw new InvalidOperationException("unreachable: Assert.Skip throws");
        }

        return (blobs, retention);
    }
}
