using System.Text;
using StatePersistence.Retention;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.Conformance;

/// <summary>
/// For a store that declares <see cref="IRetentionStore"/>: the retention policy's session log cap (rotation into
/// parts, or a cut to the newest whole appends) and report expiry, judged by what reads give back afterwards and
/// after a restart. Sizes are the store's own (framing or sealing included), so the caps here are chosen to hold in
/// any store's units.
/// </summary>
/// <typeparam name="THarness">The store's harness.</typeparam>
public abstract class RetentionConformanceTests<THarness> : StoreConformanceBase<THarness>
    where THarness : StoreHarness, new()
{
    /// <summary>
    /// Each cap past a 1-byte limit rotates the live log into part 1; with two parts kept, the third rotation drops the
    /// oldest, and only it. Reads serve the parts in order before the live log, also after a restart; the size counts
    /// the live log only.
    /// </summary>
    [Fact]
    public async Task CapSessionLog_RotatesIntoParts_DropsOnlyThePartBeyondTheKept_ReadsServeThePartsInOrder()
    {
        (IStateStore store, _) = await OpenAsync();
        await using (store)
        {
            (IStateBlobStore blobs, IRetentionStore retention) = Require(store);
            await AppendAsync(blobs, "s1", "A\n");
            SessionLogTrim first = Assert.IsType<SessionLogTrim>(await retention.CapSessionLogAsync("s1", 1, 2, Durability.Full, Ct));
            Assert.Equal(new SessionLogTrim("s1", first.LogBytes, 0, true), first);
            Assert.True(first.LogBytes >= 2, $"the live log's size {first.LogBytes} is less than the text appended");
            Assert.Equal("A\n", await ReadAsync(blobs, "s1"));
            // The size a quota measures is the live log's: a rotation makes room under it again.
            Assert.Equal(0, await blobs.SessionLogSizeAsync("s1", Ct));

            await AppendAsync(blobs, "s1", "B\n");
            Assert.Equal(first.LogBytes, await blobs.SessionLogSizeAsync("s1", Ct));
            Assert.Equal(0, (await retention.CapSessionLogAsync("s1", 1, 2, Durability.Full, Ct))!.BytesFreed);
            Assert.Equal("A\nB\n", await ReadAsync(blobs, "s1"));

            // The third rotation: three parts, two kept, so part A goes with its bytes.
            await AppendAsync(blobs, "s1", "C\n");
            SessionLogTrim third = Assert.IsType<SessionLogTrim>(await retention.CapSessionLogAsync("s1", 1, 2, Durability.Full, Ct));
            Assert.True(third.Rotated);
            Assert.True(third.BytesFreed >= 2, $"the dropped part freed {third.BytesFreed} bytes");
            Assert.Equal("B\nC\n", await ReadAsync(blobs, "s1"));

            // Nothing appended since: the live log is empty, within any cap.
            Assert.Null(await retention.CapSessionLogAsync("s1", 1, 2, Durability.Full, Ct));
            await AppendAsync(blobs, "s1", "D\n");
        }

        (IStateStore reopened, _) = await OpenAsync();
        await using (reopened)
        {
            (IStateBlobStore blobs, IRetentionStore retention) = Require(reopened);
            Assert.Equal("B\nC\nD\n", await ReadAsync(blobs, "s1"));

            // The parts are kept across the restart: the next rotation drops B, the oldest.
            Assert.True((await retention.CapSessionLogAsync("s1", 1, 2, Durability.Full, Ct))!.Rotated);
            Assert.Equal("C\nD\n", await ReadAsync(blobs, "s1"));
        }
    }

    /// <summary>
    /// Deleting a log takes its rotated parts with it: nothing of it reads back, across a restart, and the next append
    /// starts a log of its own text only (a part left behind would be served before it).
    /// </summary>
    [Fact]
    public async Task DeleteSessionLog_TakesItsRotatedPartsWithIt()
    {
        (IStateStore store, _) = await OpenAsync();
        await using (store)
        {
            (IStateBlobStore blobs, IRetentionStore retention) = Require(store);
            await AppendAsync(blobs, "s1", "A\n");
            Assert.True((await retention.CapSessionLogAsync("s1", 1, 2, Durability.Full, Ct))!.Rotated);
            await AppendAsync(blobs, "s1", "B\n");
            Assert.True((await retention.CapSessionLogAsync("s1", 1, 2, Durability.Full, Ct))!.Rotated);
            await AppendAsync(blobs, "s1", "C\n");
            Assert.Equal("A\nB\nC\n", await ReadAsync(blobs, "s1"));

            await blobs.DeleteSessionLogAsync("s1", Ct);

            Assert.Null(await blobs.ReadSessionLogAsync("s1", Ct));
            Assert.Null(await blobs.OpenSessionLogAsync("s1", Ct));
            Assert.DoesNotContain("s1", await retention.ListSessionLogsAsync(0, Ct));
            Assert.DoesNotContain("s1", await blobs.ListSessionLogsAsync(null, 10, Ct));
        }

        (IStateStore reopened, _) = await OpenAsync();
        await using (reopened)
        {
            (IStateBlobStore blobs, _) = Require(reopened);
            Assert.Null(await blobs.ReadSessionLogAsync("s1", Ct));
            await AppendAsync(blobs, "s1", "D\n");
            Assert.Equal("D\n", await ReadAsync(blobs, "s1"));
        }
    }

    /// <summary>
    /// A log whose text is all in rotated parts (the live log rotated away, nothing appended since: its size is 0) is a
    /// log: <see cref="IStateBlobStore.SessionLogExistsAsync"/> says so without opening one of its appends (no decode),
    /// as it says of a live log, and no log is none, also once deleted. What the deletion of an orphan log asks: before
    /// 2026-12-07 PostgreSQL and the in-memory store took the interface's default, which opened such a log, every append
    /// read and decoded (under a key no longer in the key file, refused).
    /// </summary>
    [Fact]
    public async Task SessionLogExists_ALogAllInRotatedParts_IsFound_WithoutAnAppendDecoded()
    {
        var codec = new DecodeRecordingCodec(new XorTestCodec());
        (IStateStore store, _) = await OpenAsync(codec);
        await using (store)
        {
            (IStateBlobStore blobs, IRetentionStore retention) = Require(store);
            for (int i = 0; i < 3; i++)
            {
                await AppendAsync(blobs, "s1", $"{i}{new string('x', 98)}\n");
            }

            Assert.True((await retention.CapSessionLogAsync("s1", 1, 1, Durability.Full, Ct))!.Rotated);
            Assert.Equal(0, await blobs.SessionLogSizeAsync("s1", Ct));
            await AppendAsync(blobs, "s2", "live\n");
            codec.Clear();

            Assert.True(await blobs.SessionLogExistsAsync("s1", Ct));
            Assert.True(await blobs.SessionLogExistsAsync("s2", Ct));
            Assert.False(await blobs.SessionLogExistsAsync("nolog", Ct));
            await blobs.DeleteSessionLogAsync("s1", Ct);
            Assert.False(await blobs.SessionLogExistsAsync("s1", Ct));

            Assert.Empty(codec.Decoded(PayloadKind.SessionLogAppend));
        }
    }

    /// <summary>A log within the cap is left as it is: no trim, the same text.</summary>
    [Fact]
    public async Task CapSessionLog_WithinTheCap_LeavesTheLogAlone()
    {
        (IStateStore store, _) = await OpenAsync();
        await using (store)
        {
            (IStateBlobStore blobs, IRetentionStore retention) = Require(store);
            await AppendAsync(blobs, "s1", "short\n");
            Assert.Null(await retention.CapSessionLogAsync("s1", 1 << 20, 1, Durability.Full, Ct));
            Assert.Null(await retention.CapSessionLogAsync("s1", 1 << 20, 0, Durability.Full, Ct));
            Assert.Null(await retention.CapSessionLogAsync("nolog", 1, 1, Durability.Full, Ct));
            Assert.Equal("short\n", await ReadAsync(blobs, "s1"));
        }
    }

    /// <summary>
    /// With no part kept, the log is cut to its newest whole appends within half the cap (ten appends of 100 bytes, a
    /// cap of 600: one to three of them fit in 300 bytes, whatever the store's framing); appends go on after it.
    /// </summary>
    [Fact]
    public async Task CapSessionLog_WithNoPartKept_KeepsTheNewestWholeAppendsWithinHalfTheCap()
    {
        string[] appends = [.. Enumerable.Range(0, 10).Select(i => $"{i}{new string('x', 98)}\n")];
        (IStateStore store, _) = await OpenAsync();
        await using (store)
        {
            (IStateBlobStore blobs, IRetentionStore retention) = Require(store);
            foreach (string append in appends)
            {
                await AppendAsync(blobs, "s1", append);
            }

            SessionLogTrim trim = Assert.IsType<SessionLogTrim>(await retention.CapSessionLogAsync("s1", 600, 0, Durability.Full, Ct));
            Assert.False(trim.Rotated);
            Assert.True(trim.LogBytes >= 1000, $"the log's size {trim.LogBytes} is less than its text");
            string kept = await ReadAsync(blobs, "s1");
            int count = kept.Length / 100;
            Assert.InRange(count, 1, 3);
            Assert.Equal(string.Concat(appends[^count..]), kept);
            Assert.True(trim.BytesFreed >= (10 - count) * 100, $"{trim.BytesFreed} bytes freed for {10 - count} appends of 100 bytes");
            Assert.Null(await retention.CapSessionLogAsync("s1", 600, 0, Durability.Full, Ct));
            await AppendAsync(blobs, "s1", "after\n");
        }

        (IStateStore reopened, _) = await OpenAsync();
        await using (reopened)
        {
            (IStateBlobStore blobs, _) = Require(reopened);
            string text = await ReadAsync(blobs, "s1");
            Assert.EndsWith(appends[^1] + "after\n", text, StringComparison.Ordinal);
            Assert.DoesNotContain(appends[0], text, StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// A log opened for a streamed read, then capped before a range is copied (the cap above): the copy is the text as
    /// opened (a file store reads the files it opened) or fails saying the log changed (PostgreSQL, whose rows are gone),
    /// never the text of the appends left at the offsets of those cut away. Before 2026-12-07 PostgreSQL served them.
    /// </summary>
    [Fact]
    public async Task CapSessionLog_UnderAnOpenedReader_LeavesItsRangesAsOpenedOrFailing()
    {
        string[] appends = [.. Enumerable.Range(0, 10).Select(i => $"{i}{new string('x', 98)}\n")];
        (IStateStore store, _) = await OpenAsync();
        await using (store)
        {
            (IStateBlobStore blobs, IRetentionStore retention) = Require(store);
            foreach (string append in appends)
            {
                await AppendAsync(blobs, "s1", append);
            }

            await using ISessionLogReader reader = (await blobs.OpenSessionLogAsync("s1", Ct))!;
            Assert.Equal(1000, reader.Length);
            Assert.IsType<SessionLogTrim>(await retention.CapSessionLogAsync("s1", 600, 0, Durability.Full, Ct));

            using var sent = new MemoryStream();
            Exception? copied = await Record.ExceptionAsync(() => reader.CopyToAsync(sent, 0, 100, Ct).AsTask());
            if (copied is null)
            {
                Assert.Equal(appends[0], Encoding.UTF8.GetString(sent.ToArray()));
            }
            else
            {
                Assert.IsType<Errors.StateStorageException>(copied);
            }
        }
    }

    /// <summary>The listing names every log larger than asked (it may name more, never fewer).</summary>
    [Fact]
    public async Task ListSessionLogs_NamesEveryLogLargerThanAsked()
    {
        (IStateStore store, _) = await OpenAsync();
        await using (store)
        {
            (IStateBlobStore blobs, IRetentionStore retention) = Require(store);
            await AppendAsync(blobs, "small", "x");
            for (int i = 0; i < 10; i++)
            {
                await AppendAsync(blobs, "large", new string('y', 99) + "\n");
            }

            Assert.Contains("large", await retention.ListSessionLogsAsync(500, Ct));
            IReadOnlyList<string> all = await retention.ListSessionLogsAsync(0, Ct);
            Assert.Contains("large", all);
            Assert.Contains("small", all);
            Assert.DoesNotContain("nolog", all);
        }
    }

    /// <summary>A report is deleted only when the predicate says so of its JSON; the others stay, across a restart.</summary>
    [Fact]
    public async Task ExpireReport_DeletesOnlyWhatThePredicateJudgesExpired()
    {
        (IStateStore store, _) = await OpenAsync();
        await using (store)
        {
            (IStateBlobStore blobs, IRetentionStore retention) = Require(store);
            await blobs.SaveReportAsync("old", """{"created_at":"2020-01-01T00:00:00Z"}"""u8.ToArray(), Durability.Full, Ct);
            await blobs.SaveReportAsync("new", """{"created_at":"2030-01-01T00:00:00Z"}"""u8.ToArray(), Durability.Full, Ct);
            Func<byte[], bool> isOld = json => Encoding.UTF8.GetString(json).Contains("2020", StringComparison.Ordinal);

            Assert.Null(await retention.ExpireReportAsync("new", isOld, Durability.Full, Ct));
            long? freed = await retention.ExpireReportAsync("old", isOld, Durability.Full, Ct);
            Assert.True(freed >= 37, $"expiring a 37-byte report freed {freed} bytes");
            Assert.Null(await retention.ExpireReportAsync("old", isOld, Durability.Full, Ct));
            Assert.Null(await retention.ExpireReportAsync("missing", _ => true, Durability.Full, Ct));
            Assert.Null(await blobs.LoadReportAsync("old", Ct));
            Assert.Equal(1, await blobs.CountReportsAsync(Ct));
        }

        (IStateStore reopened, _) = await OpenAsync();
        await using (reopened)
        {
            (IStateBlobStore blobs, _) = Require(reopened);
            Assert.Equal(["new"], await blobs.ListReportsAsync(Ct));
        }
    }

    private static async Task AppendAsync(IStateBlobStore blobs, string sessionId, string text) =>
        await blobs.AppendSessionLogAsync(sessionId, Encoding.UTF8.GetBytes(text), Durability.Full, Ct);

    private static async Task<string> ReadAsync(IStateBlobStore blobs, string sessionId) =>
        Encoding.UTF8.GetString(await blobs.ReadSessionLogAsync(sessionId, Ct) ?? []);

    private static (IStateBlobStore Blobs, IRetentionStore Retention) Require(IStateStore store)
    {
        if (store is not (IStateBlobStore blobs and IRetentionStore retention))
        {
            Assert.Skip($"{store.GetType().Name} does not declare IRetentionStore: the retention pass does not reach its logs and reports.");
            throw new InvalidOperationException("unreachable: Assert.Skip throws");
        }

        return (blobs, retention);
    }
}
