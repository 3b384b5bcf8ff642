using Npgsql;
using StatePersistence.Postgres.Changes;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Storage;
using ChangeFeed = StatePersistence.Postgres.Changes.ChangeFeed;

namespace StatePersistence.Postgres.Tests;

public sealed class ChangeFeedTests
{
    [Fact]
    public async Task GroupCommittedAfterALaterRevision_IsNotSkipped()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using Store store = await Store.CreateAsync(ct);

        // Writer A takes a revision and stalls before committing; writer B takes a higher one and commits.
        await using NpgsqlConnection slow = await PostgresServer.DataSource.OpenConnectionAsync(ct);
        await using NpgsqlTransaction stalled = await slow.BeginTransactionAsync(ct);
        CommitOutcome a = await store.Writer.WriteAsync(slow, stalled, [Store.Put("a", ExpectedRevision.Absent)], Durability.Full, ct);
        long b = await store.PutAsync("b", ExpectedRevision.Absent);
        Assert.True(a.Revision < b);

        CommittedGroup first = Assert.Single(await store.Feed.ReadAsync(0, 100, ct));
        Assert.Equal(("b", 1L), (first.Changes[0].Id, first.Position));

        await stalled.CommitAsync(ct);

        // The bug class this feed exists to avoid: following revisions, A's change is behind the reader for good.
        await using (NpgsqlCommand naive = PostgresServer.DataSource.CreateCommand($"SELECT count(*) FROM {store.Schema}.changes WHERE revision > {b}"))
        {
            Assert.Equal(0L, await naive.ExecuteScalarAsync(ct));
        }

        CommittedGroup late = Assert.Single(await store.Feed.ReadAsync(first.Position, 100, ct));
        Assert.Equal(("a", 2L, a.Revision), (late.Changes[0].Id, late.Position, late.Revision));
    }

    /// <summary>
    /// The same interleaving with a live subscriber (woken by NOTIFY, polling every 100 ms besides), under a stall of
    /// nothing and one of 1.5 s: fifteen poll intervals, longer than any timeout the feed has (its default poll is 1 s).
    /// The subscriber gets B, then A once A commits, each once: whether A commits without a position (numbered later by
    /// a reader) or numbers itself as its last step, as a commit under full durability does.
    /// </summary>
    [Theory]
    [InlineData(0, false)]
    [InlineData(1500, false)]
    [InlineData(0, true)]
    [InlineData(1500, true)]
    public async Task ALateCommit_ReachesALiveSubscriber_AfterAStallOfAnyLength(int stallMilliseconds, bool numberedByItsOwnTransaction)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using Store store = await Store.CreateAsync(ct);
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(ct);
        reading.CancelAfter(TimeSpan.FromSeconds(60));
        var seen = new List<CommittedGroup>();
        Task subscriber = Task.Run(async () =>
        {
            await foreach (CommittedGroup group in store.Feed.SubscribeAsync(0, TimeSpan.FromMilliseconds(100), reading.Token))
            {
                lock (seen)
                {
                    seen.Add(group);
                }
            }
        }, CancellationToken.None);

        await using NpgsqlConnection slow = await PostgresServer.DataSource.OpenConnectionAsync(ct);
        await using NpgsqlTransaction stalled = await slow.BeginTransactionAsync(ct);
        CommitOutcome a = await store.Writer.WriteAsync(slow, stalled, [Store.Put("a", ExpectedRevision.Absent)], Durability.Full, ct);
        long b = await store.PutAsync("b", ExpectedRevision.Absent);
        Assert.True(a.Revision < b);
        await WaitForAsync(seen, 1, reading.Token);

        // The stall: the subscriber is woken and polls meanwhile, and must not move past A's revision for good.
        await Task.Delay(stallMilliseconds, reading.Token);
        if (numberedByItsOwnTransaction)
        {
            await store.Writer.NumberAsync(slow, stalled, ct);
        }

        await stalled.CommitAsync(ct);
        await WaitForAsync(seen, 2, reading.Token);

        // A few more polls: nothing is delivered twice.
        await Task.Delay(500, reading.Token);
        await reading.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => subscriber);
        lock (seen)
        {
            Assert.Equal([("b", 1L, b), ("a", 2L, a.Revision)], seen.Select(g => (g.Changes[0].Id, g.Position, g.Revision)));
        }
    }

    [Fact]
    public async Task AFullDurabilityCommit_IsNumberedInItsOwnTransaction_ARelaxedOneByTheNextReader()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using Store store = await Store.CreateAsync(ct);

        await store.PutAsync("full", ExpectedRevision.Absent);
        Assert.Equal([(1L, "full")], await PositionsAsync(store, ct));

        CommitOutcome relaxed = await store.Writer.AppendAsync([Store.Put("relaxed", ExpectedRevision.Absent)], Durability.Relaxed, ct);
        Assert.True(relaxed.Committed);
        Assert.Equal([(1L, "full"), (0L, "relaxed")], await PositionsAsync(store, ct));

        Assert.Equal(1, await store.Feed.AssignPositionsAsync(ct));
        Assert.Equal([(1L, "full"), (2L, "relaxed")], await PositionsAsync(store, ct));
    }

    /// <summary>
    /// A numbers itself and then stalls before its COMMIT, holding the numbering lock: B, committing meanwhile, waits for
    /// that lock, so it cannot take a position a reader would see before A's; a reader meanwhile sees neither and does
    /// not wait. Once A commits, B goes on: A is 1, B is 2.
    /// </summary>
    [Fact]
    public async Task ACommitThatNumberedItselfAndStalls_HoldsBackLaterNumberings_UntilItCommits()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using Store store = await Store.CreateAsync(ct);
        await using NpgsqlConnection slow = await PostgresServer.DataSource.OpenConnectionAsync(ct);
        await using NpgsqlTransaction stalled = await slow.BeginTransactionAsync(ct);
        CommitOutcome a = await store.Writer.WriteAsync(slow, stalled, [Store.Put("a", ExpectedRevision.Absent)], Durability.Full, ct);
        await store.Writer.NumberAsync(slow, stalled, ct);

        Task<long> b = store.PutAsync("b", ExpectedRevision.Absent);
        // B waiting on this schema's numbering lock, not any advisory lock in the cluster: other tests and processes
        // share it, and a waiter of theirs would end the wait before B got there. An advisory lock's 64-bit key is
        // split into classid (its high half) and objid (its low half).
        await using (NpgsqlCommand waiting = PostgresServer.DataSource.CreateCommand(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted " +
            "AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 0)"))
        {
            waiting.Parameters.AddWithValue("statepersistence.feed:" + store.Schema);
            bool bWaits = false;
            for (int i = 0; i < 3000 && !(bWaits = (long)(await waiting.ExecuteScalarAsync(ct))! > 0); i++)
            {
                await Task.Delay(10, ct);
            }

            Assert.True(bWaits, "B never waited on the schema's numbering lock held by A");
        }

        Assert.False(b.IsCompleted);
        Assert.Empty(await store.Feed.ReadAsync(0, 100, ct));

        await stalled.CommitAsync(ct);
        long bRevision = await b;
        Assert.Equal([("a", 1L, a.Revision), ("b", 2L, bRevision)],
            (await store.Feed.ReadAsync(0, 100, ct)).Select(g => (g.Changes[0].Id, g.Position, g.Revision)));
    }

    /// <summary>
    /// Every commit under full durability runs the numbering, so it must not cost more as the log grows: over a log of
    /// thousands of numbered changes (more than its statistics know of), its plan finds the rows to number through
    /// the index of unnumbered ones and scans no table of changes whole.
    /// </summary>
    [Fact]
    public async Task TheNumbering_FindsItsRowsThroughTheIndex_NotByScanningTheLog()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using Store store = await Store.CreateAsync(ct);
        // Analyzed while small, then grown, as a busy log is between two runs of autovacuum's analyze.
        await using (NpgsqlCommand fill = PostgresServer.DataSource.CreateCommand($"""
            ANALYZE {store.Schema}.changes;
            INSERT INTO {store.Schema}.changes (revision, ordinal, kind, id, body, position, numbered_at)
            SELECT 1000000 + n, 0, 'task', 'item' || n, jsonb_build_object(), n, now() FROM generate_series(1, 5000) AS n;
            """))
        {
            await fill.ExecuteNonQueryAsync(ct);
        }

        await store.PutAsync("new", ExpectedRevision.Absent);
        await using var batch = new NpgsqlBatch();
        string numbering = ChangeFeed.AddNumbering(batch, store.Schema, returning: true).CommandText;
        var plan = new List<string>();
        await using (NpgsqlCommand explain = PostgresServer.DataSource.CreateCommand("EXPLAIN (COSTS OFF) " + numbering))
        await using (NpgsqlDataReader reader = await explain.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                plan.Add(reader.GetString(0));
            }
        }

        Assert.DoesNotContain(plan, line => line.Contains("Seq Scan on changes", StringComparison.Ordinal));
    }

    private static async Task<List<(long Position, string Id)>> PositionsAsync(Store store, CancellationToken ct)
    {
        await using NpgsqlCommand command = PostgresServer.DataSource.CreateCommand(
            $"SELECT coalesce(position, 0), id FROM {store.Schema}.changes ORDER BY revision");
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(ct);
        var found = new List<(long, string)>();
        while (await reader.ReadAsync(ct))
        {
            found.Add((reader.GetInt64(0), reader.GetString(1)));
        }

        return found;
    }

    private static async Task WaitForAsync(List<CommittedGroup> seen, int count, CancellationToken cancellationToken)
    {
        while (true)
        {
            lock (seen)
            {
                if (seen.Count >= count)
                {
                    return;
                }
            }

            await Task.Delay(10, cancellationToken);
        }
    }

    [Fact]
    public async Task ConcurrentWritersAndReaders_FeedHasEveryGroupOnce_InRevisionOrderPerItem()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using Store store = await Store.CreateAsync(ct);
        const int Writers = 6, WritesEach = 40;
        var written = new System.Collections.Concurrent.ConcurrentBag<long>();
        using var done = new CancellationTokenSource();

        // Two readers, as two server instances would, each numbering and following the feed while writers write.
        Task<List<CommittedGroup>>[] readers = [.. Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
        {
            var seen = new List<CommittedGroup>();
            while (true)
            {
                bool finished = done.IsCancellationRequested;
                IReadOnlyList<CommittedGroup> page = await store.Feed.ReadAsync(seen.Count == 0 ? 0 : seen[^1].Position, 50, ct);
                seen.AddRange(page);
                if (finished && page.Count == 0)
                {
                    return seen;
                }
            }
        }, ct))];

        await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            var random = new Random(w);
            for (int i = 0; i < WritesEach; i++)
            {
                // Few items, so writers contend on them and commit out of revision order.
                written.Add(await store.PutAsync("item" + random.Next(4), ExpectedRevision.Any, $"{w}-{i}"));
            }
        }, ct)));
        await done.CancelAsync();

        foreach (List<CommittedGroup> seen in await Task.WhenAll(readers))
        {
            Assert.Equal(Enumerable.Range(1, Writers * WritesEach).Select(p => (long)p), seen.Select(g => g.Position));
            Assert.Equal(written.Order(), seen.Select(g => g.Revision).Order());
            foreach (IGrouping<string, CommittedGroup> item in seen.GroupBy(g => g.Changes[0].Id))
            {
                Assert.Equal(item.Select(g => g.Revision).Order(), item.Select(g => g.Revision));
            }
        }
    }

    [Fact]
    public void TheChannel_FitsAnIdentifier_KeepsShortNamesAsTheyWere_AndKeepsLongOnesApart()
    {
        string a = new string('a', 63);
        string b = new string('a', 62) + "b";
        Assert.Equal("statepersistence_state", ChangeFeed.Channel("state"));
        Assert.Equal("statepersistence_" + new string('s', 46), ChangeFeed.Channel(new string('s', 46)));
        Assert.All(new[] { a, b, new string('s', 47) }, schema => Assert.Equal(63, ChangeFeed.Channel(schema).Length));
        Assert.NotEqual(ChangeFeed.Channel(a), ChangeFeed.Channel(b));
        Assert.Matches("^[a-z_][a-z0-9_]*$", ChangeFeed.Channel(b));
    }

    /// <summary>
    /// Also with the longest schema name PostgreSQL takes (63 characters): the channel was "statepersistence_" and the
    /// name, past 63 bytes, which pg_notify refused inside every commit (nothing could be saved).
    /// </summary>
    [Theory]
    [InlineData(null)]
    [InlineData(46)]
    [InlineData(63)]
    public async Task SubscriberOnAnotherInstance_ReceivesEveryGroup_InOrder_ThenNewOnes(int? schemaNameLength)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using Store store = await Store.CreateAsync(ct, schemaNameLength);
        long before = await store.PutAsync("old", ExpectedRevision.Absent);

        // Instance B (its own pool) subscribes; instance A writes. A long poll interval, so what arrives promptly
        // arrived by notification; the timeout only keeps a broken feed from hanging the run.
        await using NpgsqlDataSource instanceB = PostgresServer.NewDataSource();
        var feedB = new ChangeFeed(instanceB, store.Schema, new ChangeRows(new StorePayloads(), store.Schema));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        await using IAsyncEnumerator<CommittedGroup> subscription = feedB.SubscribeAsync(0, TimeSpan.FromMinutes(10), timeout.Token).GetAsyncEnumerator(timeout.Token);

        Assert.True(await subscription.MoveNextAsync());
        Assert.Equal(("old", before), (subscription.Current.Changes[0].Id, subscription.Current.Revision));

        var written = new List<long>();
        Task writer = Task.Run(async () =>
        {
            for (int i = 0; i < 20; i++)
            {
                written.Add(await store.PutAsync("n" + i, ExpectedRevision.Absent));
            }
        }, ct);
        var received = new List<CommittedGroup>();
        while (received.Count < 20 && await subscription.MoveNextAsync())
        {
            received.Add(subscription.Current);
        }

        await writer;
        Assert.Equal(Enumerable.Range(0, 20).Select(i => "n" + i), received.Select(g => g.Changes[0].Id));
        Assert.Equal(written, received.Select(g => g.Revision));
        Assert.Equal(Enumerable.Range(2, 20).Select(p => (long)p), received.Select(g => g.Position));
    }
}
