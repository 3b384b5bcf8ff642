using System.Text;
using System.Text.Json;
using StatePersistence.Errors;
using StatePersistence.Storage;

namespace StatePersistence.Conformance;

/// <summary>Session logs and reports through <see cref="IStateBlobStore"/>, across restarts.</summary>
/// <typeparam name="THarness">The store\'s harness.</typeparam>
public abstract class BlobConformanceTests<THarness> : StoreConformanceBase<THarness>
    where THarness : StoreHarness, new()
{
    /// <summary>Appends read back in order, as one log; a session without a log reads as null.</summary>
    [Fact]
    public async Task SessionLog_AppendsReadBackInOrder_AcrossRestart()
    {
        (IStateStore store, _) = await OpenAsync();
        await using (store)
        {
            IStateBlobStore blobs = RequireBlobs(store);
            await blobs.AppendSessionLogAsync("s1", "first line\n"u8.ToArray(), Durability.Full, Ct);
            await blobs.AppendSessionLogAsync("s1", "second line, ünïcode\n"u8.ToArray(), Durability.Full, Ct);
            await blobs.AppendSessionLogAsync("s2", "other"u8.ToArray(), Durability.Full, Ct);
            Assert.Null(await blobs.ReadSessionLogAsync("s3", Ct));
            Assert.Equal(0, await blobs.SessionLogSizeAsync("s3", Ct));

            // A size counts what the store holds (framing included), so it is at least the text and grows with it.
            long one = await blobs.SessionLogSizeAsync("s2", Ct);
            Assert.True(one >= 5, $"size {one} is less than the 5 bytes appended");
            await blobs.AppendSessionLogAsync("s2", "!"u8.ToArray(), Durability.Full, Ct);
            Assert.True(await blobs.SessionLogSizeAsync("s2", Ct) > one);
        }

        (IStateStore reopened, _) = await OpenAsync();
        await using (reopened)
        {
            IStateBlobStore blobs = RequireBlobs(reopened);
            Assert.Equal("first line\nsecond line, ünïcode\n", Encoding.UTF8.GetString((await blobs.ReadSessionLogAsync("s1", Ct))!));
            Assert.Equal("other!", Encoding.UTF8.GetString((await blobs.ReadSessionLogAsync("s2", Ct))!));
        }
    }

    /// <summary>
    /// A create writes a log only where there is none: on an absent log it writes and says so; on one that has text,
    /// or that holds only an empty append, it writes nothing and says so; after a deletion it writes again; across a
    /// restart the created log reads back; a bad id is refused by name.
    /// </summary>
    [Fact]
    public async Task SessionLog_CreatedOnlyWhereThereIsNone_AcrossRestart()
    {
        (IStateStore store, _) = await OpenAsync();
        await using (store)
        {
            IStateBlobStore blobs = RequireBlobs(store);
            Assert.True(await blobs.TryCreateSessionLogAsync("s1", "restored text\n"u8.ToArray(), Durability.Full, Ct));
            Assert.False(await blobs.TryCreateSessionLogAsync("s1", "again\n"u8.ToArray(), Durability.Full, Ct));

            await blobs.AppendSessionLogAsync("s2", "live text\n"u8.ToArray(), Durability.Full, Ct);
            Assert.False(await blobs.TryCreateSessionLogAsync("s2", "restored\n"u8.ToArray(), Durability.Full, Ct));
            await blobs.AppendSessionLogAsync("s3", ReadOnlyMemory<byte>.Empty, Durability.Full, Ct);
            Assert.False(await blobs.TryCreateSessionLogAsync("s3", "restored\n"u8.ToArray(), Durability.Full, Ct));

            await blobs.DeleteSessionLogAsync("s2", Ct);
            Assert.True(await blobs.TryCreateSessionLogAsync("s2", "after the deletion\n"u8.ToArray(), Durability.Full, Ct));
            var invalid = await Assert.ThrowsAsync<InvalidStateIdException>(() => blobs.TryCreateSessionLogAsync("a/b", "x"u8.ToArray(), Durability.Full, Ct).AsTask());
            Assert.Contains("'a/b'", invalid.Message, StringComparison.Ordinal);
        }

        (IStateStore reopened, _) = await OpenAsync();
        await using (reopened)
        {
            IStateBlobStore blobs = RequireBlobs(reopened);
            Assert.Equal("restored text\n", Encoding.UTF8.GetString((await blobs.ReadSessionLogAsync("s1", Ct))!));
            Assert.Equal("after the deletion\n", Encoding.UTF8.GetString((await blobs.ReadSessionLogAsync("s2", Ct))!));
            Assert.Empty((await blobs.ReadSessionLogAsync("s3", Ct))!);
            Assert.False(await blobs.TryCreateSessionLogAsync("s1", "after the restart\n"u8.ToArray(), Durability.Full, Ct));
        }
    }

    /// <summary>
    /// Of many creates of one log at once, exactly one writes, and the log holds its text alone: what keeps two restores
    /// of one archive from leaving a log's text twice. Rounds, since one could pass by luck.
    /// </summary>
    [Fact]
    public async Task SessionLog_CreatesAtOnce_ExactlyOneWrites()
    {
        const int Creators = 8;
        (IStateStore store, _) = await OpenAsync();
        await using (store)
        {
            IStateBlobStore blobs = RequireBlobs(store);
            for (int round = 0; round < 10; round++)
            {
                string id = $"s{round}";
                var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Task<bool>[] creates = [.. Enumerable.Range(0, Creators).Select(creator => Task.Run(async () =>
                {
                    await start.Task;
                    return await blobs.TryCreateSessionLogAsync(id, Encoding.UTF8.GetBytes($"creator {creator}\n"), Durability.Full, Ct);
                }, Ct))];
                start.SetResult();
                bool[] wrote = await Task.WhenAll(creates);

                int winner = Assert.Single(Enumerable.Range(0, Creators), c => wrote[c]);
                Assert.Equal($"creator {winner}\n", Encoding.UTF8.GetString((await blobs.ReadSessionLogAsync(id, Ct))!));
            }
        }
    }

    /// <summary>
    /// A report create writes only where there is no report with the id, leaving an existing one as it was, and is
    /// counted and listed as a save is; of many creates at once exactly one writes; across a restart it reads back.
    /// </summary>
    [Fact]
    public async Task Reports_CreatedOnlyWhereThereIsNone_ExactlyOneOfManyAtOnce_AcrossRestart()
    {
        const int Creators = 8;
        (IStateStore store, _) = await OpenAsync();
        await using (store)
        {
            IStateBlobStore blobs = RequireBlobs(store);
            await blobs.SaveReportAsync("saved", """{"v":"saved"}"""u8.ToArray(), Durability.Full, Ct);
            Assert.False(await blobs.TryCreateReportAsync("saved", """{"v":"restored"}"""u8.ToArray(), Durability.Full, Ct));
            Assert.True(await blobs.TryCreateReportAsync("created", """{"v":"created"}"""u8.ToArray(), Durability.Full, Ct));
            Assert.Equal(["created", "saved"], await blobs.ListReportsAsync(Ct));
            Assert.Equal(2, await blobs.CountReportsAsync(Ct));
            await Assert.ThrowsAsync<InvalidStateIdException>(() => blobs.TryCreateReportAsync("a/b", "{}"u8.ToArray(), Durability.Full, Ct).AsTask());

            for (int round = 0; round < 10; round++)
            {
                string id = $"r{round}";
                var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Task<bool>[] creates = [.. Enumerable.Range(0, Creators).Select(creator => Task.Run(async () =>
                {
                    await start.Task;
                    return await blobs.TryCreateReportAsync(id, Encoding.UTF8.GetBytes($"{{\"creator\":{creator}}}"), Durability.Full, Ct);
                }, Ct))];
                start.SetResult();
                bool[] wrote = await Task.WhenAll(creates);

                int winner = Assert.Single(Enumerable.Range(0, Creators), c => wrote[c]);
                Assert.Equal($"{{\"creator\":{winner}}}", Encoding.UTF8.GetString((await blobs.LoadReportAsync(id, Ct))!));
            }
        }

        (IStateStore reopened, _) = await OpenAsync();
        await using (reopened)
        {
            IStateBlobStore blobs = RequireBlobs(reopened);
            Assert.Equal("""{"v":"saved"}""", Encoding.UTF8.GetString((await blobs.LoadReportAsync("saved", Ct))!));
            Assert.Equal("""{"v":"created"}""", Encoding.UTF8.GetString((await blobs.LoadReportAsync("created", Ct))!));
            Assert.Equal(12, await blobs.CountReportsAsync(Ct));
        }
    }

    /// <summary>
    /// A deleted log reads as none and is not listed, across a restart; other logs stay; deleting a log that is not
    /// there is no error; the next append starts a new log holding only its own text; a bad id is refused by name.
    /// </summary>
    [Fact]
    public async Task SessionLog_Deleted_ReadsAsNone_AndTheNextAppendStartsANewLog_AcrossRestart()
    {
        (IStateStore store, _) = await OpenAsync();
        await using (store)
        {
            IStateBlobStore blobs = RequireBlobs(store);
            await blobs.AppendSessionLogAsync("s1", "old run\n"u8.ToArray(), Durability.Full, Ct);
            await blobs.AppendSessionLogAsync("s2", "other"u8.ToArray(), Durability.Full, Ct);

            await blobs.DeleteSessionLogAsync("s1", Ct);
            await blobs.DeleteSessionLogAsync("s1", Ct);
            await blobs.DeleteSessionLogAsync("never-logged", Ct);

            Assert.Null(await blobs.ReadSessionLogAsync("s1", Ct));
            Assert.Null(await blobs.OpenSessionLogAsync("s1", Ct));
            Assert.Equal(0, await blobs.SessionLogSizeAsync("s1", Ct));
            Assert.Equal(["s2"], await blobs.ListSessionLogsAsync(null, 10, Ct));
            Assert.Equal(["s2"], await blobs.ListSessionLogsAsync("s1\uD800", 10, Ct)); // a lone surrogate, as any text
            Assert.Empty(await blobs.ListSessionLogsAsync("s2\uDC00", 10, Ct));
            var invalid = await Assert.ThrowsAsync<InvalidStateIdException>(() => blobs.DeleteSessionLogAsync("a/b", Ct).AsTask());
            Assert.Contains("a/b", invalid.Message, StringComparison.Ordinal);
        }

        (IStateStore reopened, _) = await OpenAsync();
        await using (reopened)
        {
            IStateBlobStore blobs = RequireBlobs(reopened);
            Assert.Null(await blobs.ReadSessionLogAsync("s1", Ct));
            Assert.Equal("other", Encoding.UTF8.GetString((await blobs.ReadSessionLogAsync("s2", Ct))!));
            await blobs.AppendSessionLogAsync("s1", "new run\n"u8.ToArray(), Durability.Full, Ct);
            Assert.Equal("new run\n", Encoding.UTF8.GetString((await blobs.ReadSessionLogAsync("s1", Ct))!));
        }
    }

    /// <summary>Reports are saved, replaced, listed in id order and loaded back; a missing one loads as null.</summary>
    [Fact]
    public async Task Reports_SaveReplaceListAndLoad_AcrossRestart()
    {
        (IStateStore store, _) = await OpenAsync();
        await using (store)
        {
            IStateBlobStore blobs = RequireBlobs(store);
            await blobs.SaveReportAsync("r2", """{"n":1}"""u8.ToArray(), Durability.Full, Ct);
            await blobs.SaveReportAsync("r1", """{"n":2}"""u8.ToArray(), Durability.Full, Ct);
            await blobs.SaveReportAsync("r2", """{"n":3}"""u8.ToArray(), Durability.Full, Ct);
            Assert.Null(await blobs.LoadReportAsync("r9", Ct));
        }

        (IStateStore reopened, _) = await OpenAsync();
        await using (reopened)
        {
            IStateBlobStore blobs = RequireBlobs(reopened);
            Assert.Equal(["r1", "r2"], await blobs.ListReportsAsync(Ct));
            Assert.Equal("""{"n":3}""", Encoding.UTF8.GetString((await blobs.LoadReportAsync("r2", Ct))!));
            Assert.Equal("""{"n":2}""", Encoding.UTF8.GetString((await blobs.LoadReportAsync("r1", Ct))!));
        }
    }

    /// <summary>
    /// A report's JSON with whitespace around it (a file's final newline) loads back as that JSON. The file store's and
    /// PostgreSQL's plain envelope checksummed the whitespace, which its read never sees, and such a report then read
    /// as damaged.
    /// </summary>
    [Fact]
    public async Task Reports_WithWhitespaceAroundTheirJson_LoadBack()
    {
        (IStateStore store, _) = await OpenAsync();
        await using (store)
        {
            IStateBlobStore blobs = RequireBlobs(store);
            await blobs.SaveReportAsync("r1", "\n {\"n\": [1, 2]}\r\n"u8.ToArray(), Durability.Full, Ct);
        }

        (IStateStore reopened, _) = await OpenAsync();
        await using (reopened)
        {
            using JsonDocument loaded = JsonDocument.Parse((await RequireBlobs(reopened).LoadReportAsync("r1", Ct))!);
            Assert.Equal("""{"n": [1, 2]}""", loaded.RootElement.GetRawText());
        }
    }

    /// <summary>
    /// Reports are listed a page at a time in ordinal id order, after any string (an id or not), and counted: a report
    /// saved again under its id counts once. The same after a restart.
    /// </summary>
    [Fact]
    public async Task Reports_ArePagedInIdOrder_AndCounted_AcrossRestart()
    {
        string[] ids = ["r10", "r01", "R5", "r03", "r-2", "r_9", "r02"];
        string[] sorted = [.. ids.Order(StringComparer.Ordinal)];
        (IStateStore store, _) = await OpenAsync();
        await using (store)
        {
            IStateBlobStore blobs = RequireBlobs(store);
            Assert.Equal(0, await blobs.CountReportsAsync(Ct));
            Assert.Empty(await blobs.ListReportsAsync(null, 10, Ct));
            foreach (string id in ids)
            {
                await blobs.SaveReportAsync(id, """{"n":1}"""u8.ToArray(), Durability.Full, Ct);
            }

            await blobs.SaveReportAsync("r03", """{"n":2}"""u8.ToArray(), Durability.Full, Ct);
            await AssertPagesAsync(blobs);
        }

        (IStateStore reopened, _) = await OpenAsync();
        await using (reopened)
        {
            await AssertPagesAsync(RequireBlobs(reopened));
        }

        async Task AssertPagesAsync(IStateBlobStore blobs)
        {
            Assert.Equal(ids.Length, await blobs.CountReportsAsync(Ct));
            Assert.Equal(sorted, await blobs.ListReportsAsync(null, 100, Ct));
            var walked = new List<string>();
            string? after = null;
            while (await blobs.ListReportsAsync(after, 3, Ct) is { Count: > 0 } page)
            {
                Assert.True(page.Count <= 3);
                walked.AddRange(page);
                after = page[^1];
            }

            Assert.Equal(sorted, walked);
            Assert.Equal(["r02", "r03"], await blobs.ListReportsAsync("r015", 2, Ct));
            Assert.Equal(sorted.Take(2), await blobs.ListReportsAsync("A", 2, Ct));
            Assert.Empty(await blobs.ListReportsAsync("r_9", 5, Ct));
            Assert.Empty(await blobs.ListReportsAsync("zzz", 5, Ct));
            Assert.Equal(["r10", "r_9"], await blobs.ListReportsAsync("r03\0x", 5, Ct));
            Assert.Equal(["r10", "r_9"], await blobs.ListReportsAsync("r03\uD800x", 5, Ct)); // a lone surrogate, as any text
            Assert.Empty(await blobs.ListReportsAsync("r_9\uDC00", 5, Ct));
            await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await blobs.ListReportsAsync(null, 0, Ct));
        }
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
