using System.Collections.Concurrent;
using Npgsql;
using StatePersistence.Postgres.Changes;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests.Retention;

/// <summary>The bounded change log: what the pruner deletes, what it keeps, and what a reader behind it gets.</summary>
public sealed class ChangeLogPruningTests
{
    [Fact]
    public async Task PruningEverythingOld_KeepsTheNewestGroup_MovesTheHorizon_AReadBelowItGetsAGap_AndPositionsAreNeverReused()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using Store store = await Store.CreateAsync(ct);
        for (int i = 0; i < 3; i++)
        {
            await store.PutAsync("t" + i, ExpectedRevision.Absent);
        }

        Assert.Equal(3, (await store.Feed.ReadAsync(0, 100, ct)).Count);
        var pruner = new ChangePruner(PostgresServer.DataSource, store.Schema, TimeSpan.FromHours(1));
        // All but the newest group: an instance of an earlier version numbers after the highest position in the table
        // (OlderInstanceNumberingTests).
        Assert.Equal(2L, await pruner.PruneAsync(TimeSpan.Zero, ct));
        Assert.Equal(0L, await pruner.PruneAsync(TimeSpan.Zero, ct));

        ChangeFeedGapException gap = await Assert.ThrowsAsync<ChangeFeedGapException>(() => store.Feed.ReadAsync(1, 100, ct));
        Assert.Equal((1L, 2L), (gap.AfterRevision, gap.OldestHeld));
        Assert.Contains(store.Schema, gap.Message, StringComparison.Ordinal);
        Assert.Equal(["t2"], (await store.Feed.ReadAsync(2, 100, ct)).Select(g => g.Changes[0].Id));

        await store.PutAsync("t3", ExpectedRevision.Absent);
        Assert.Equal(("t3", 4L), (await store.Feed.ReadAsync(3, 100, ct)).Select(g => (g.Changes[0].Id, g.Position)).Single());

        // A log emptied some other way (by hand): the highest position is the horizon's, and the next group continues after it.
        await using (NpgsqlCommand empty = PostgresServer.DataSource.CreateCommand(
            $"DELETE FROM {store.Schema}.changes; UPDATE {store.Schema}.feed_horizon SET position = 4"))
        {
            await empty.ExecuteNonQueryAsync(ct);
        }

        await store.PutAsync("t4", ExpectedRevision.Absent);
        CommittedGroup next = Assert.Single(await store.Feed.ReadAsync(4, 100, ct));
        Assert.Equal(("t4", 5L), (next.Changes[0].Id, next.Position));

        // The items themselves are untouched.
        for (int i = 0; i < 5; i++)
        {
            Assert.NotNull(await store.LoadAsync("t" + i));
        }
    }

    [Fact]
    public async Task ChangesInsideTheWindow_AreKept()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using Store store = await Store.CreateAsync(ct);
        await store.PutAsync("a", ExpectedRevision.Absent);
        await store.PutAsync("b", ExpectedRevision.Absent);
        Assert.Equal(2, (await store.Feed.ReadAsync(0, 100, ct)).Count);

        var pruner = new ChangePruner(PostgresServer.DataSource, store.Schema, TimeSpan.FromHours(1));
        Assert.Equal(0L, await pruner.PruneAsync(pruner.Retention, ct));
        Assert.Equal(["a", "b"], (await store.Feed.ReadAsync(0, 100, ct)).Select(g => g.Changes[0].Id));
    }

    /// <summary>
    /// Changes numbered two hours ago go; the first one still young stops the cut, even with older ones after it; one
    /// numbered by an instance of an earlier version (no numbered_at) gets its window from when the pruner finds it.
    /// </summary>
    [Fact]
    public async Task PruningStopsAtTheFirstChangeInsideTheWindow_AndGivesAChangeWithoutATimeAWholeWindow()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using Store store = await Store.CreateAsync(ct);
        for (int i = 1; i <= 5; i++)
        {
            await store.PutAsync("t" + i, ExpectedRevision.Absent);
        }

        Assert.Equal(5, (await store.Feed.ReadAsync(0, 100, ct)).Count);
        await using (NpgsqlCommand age = PostgresServer.DataSource.CreateCommand($"""
            UPDATE {store.Schema}.changes SET numbered_at = CASE position WHEN 3 THEN NULL WHEN 5 THEN now() ELSE now() - interval '2 hours' END
            """))
        {
            await age.ExecuteNonQueryAsync(ct);
        }

        var pruner = new ChangePruner(PostgresServer.DataSource, store.Schema, TimeSpan.FromHours(1));
        Assert.Equal(2L, await pruner.PruneAsync(pruner.Retention, ct));
        Assert.Equal([3L, 4L, 5L], (await store.Feed.ReadAsync(2, 100, ct)).Select(g => g.Position));
        Assert.Equal(0L, await ScalarAsync($"SELECT count(*) FROM {store.Schema}.changes WHERE numbered_at IS NULL", ct));
        Assert.Equal(0L, await pruner.PruneAsync(pruner.Retention, ct));
    }

    [Fact]
    public async Task WhileAnotherInstancePrunes_ThisOneSkips_AndDeletesNothing()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using Store store = await Store.CreateAsync(ct);
        await store.PutAsync("a", ExpectedRevision.Absent);
        await store.PutAsync("b", ExpectedRevision.Absent);
        Assert.Equal(2, (await store.Feed.ReadAsync(0, 100, ct)).Count);

        // Another instance's pruning transaction, holding the pruning lock.
        await using NpgsqlConnection other = await PostgresServer.DataSource.OpenConnectionAsync(ct);
        await using NpgsqlTransaction pruning = await other.BeginTransactionAsync(ct);
        await using (var hold = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", other, pruning))
        {
            hold.Parameters.AddWithValue("statepersistence.prune:" + store.Schema);
            await hold.ExecuteNonQueryAsync(ct);
        }

        var pruner = new ChangePruner(PostgresServer.DataSource, store.Schema, TimeSpan.FromHours(1));
        Assert.Null(await pruner.PruneAsync(TimeSpan.Zero, ct));
        Assert.Equal(2, (await store.Feed.ReadAsync(0, 100, ct)).Count);

        await pruning.RollbackAsync(ct);
        Assert.Equal(1L, await pruner.PruneAsync(TimeSpan.Zero, ct));
    }

    /// <summary>
    /// Six writers contend on a few items while a reader numbers the feed and the pruner deletes everything numbered,
    /// over and over. A change still unnumbered (committed, or still in its transaction) is never deleted: every group
    /// written gets its own position in the end (the highest position is the number of groups), the positions left are
    /// dense after the horizon, and each item's changes there are in revision order.
    /// </summary>
    [Fact]
    public async Task PruningUnderConcurrentWrites_NeverDeletesAnUnnumberedChange_NorReusesAPosition()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using Store store = await Store.CreateAsync(ct);
        const int Writers = 6, WritesEach = 40;
        var pruner = new ChangePruner(PostgresServer.DataSource, store.Schema, TimeSpan.FromHours(1));
        var written = new ConcurrentBag<long>();
        using var done = new CancellationTokenSource();
        long pruned = 0;

        Task housekeeping = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                await store.Feed.AssignPositionsAsync(ct);
                pruned += await pruner.PruneAsync(TimeSpan.Zero, ct) ?? 0;
                await Task.Delay(5, ct);
            }
        }, ct);

        await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            var random = new Random(w);
            for (int i = 0; i < WritesEach; i++)
            {
                written.Add(await store.PutAsync("item" + random.Next(4), ExpectedRevision.Any, $"{w}-{i}"));
            }
        }, ct)));
        await done.CancelAsync();
        await housekeeping;

        await store.Feed.AssignPositionsAsync(ct);
        long horizon = await ScalarAsync($"SELECT position FROM {store.Schema}.feed_horizon", ct);
        IReadOnlyList<CommittedGroup> left = await store.Feed.ReadAllAsync(horizon, ct);
        Assert.True(pruned > 0, "the pruner deleted nothing while the writers wrote");
        Assert.Equal(Writers * WritesEach, horizon + left.Count);
        Assert.Equal(Enumerable.Range(1, left.Count).Select(p => horizon + p), left.Select(g => g.Position));
        Assert.Equal(pruned, await ScalarAsync($"SELECT {Writers * WritesEach} - count(*) FROM {store.Schema}.changes", ct));
        Assert.Subset(written.ToHashSet(), left.Select(g => g.Revision).ToHashSet());
        foreach (IGrouping<string, CommittedGroup> item in left.GroupBy(g => g.Changes[0].Id))
        {
            Assert.Equal(item.Select(g => g.Revision).Order(), item.Select(g => g.Revision));
        }
    }

    [Fact]
    public async Task TheStore_PrunedBelowAReader_RefusesTheReadWithAGap_AndOpensAtTheHorizon()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var store = new PostgresStateStore(PostgresServer.DataSource, schema.Name, changeRetention: TimeSpan.FromMinutes(5));
        Assert.Equal(TimeSpan.FromMinutes(5), store.ChangeRetention);
        await store.OpenAsync(ct);
        await store.AppendAsync([[Store.Put("a", ExpectedRevision.Absent)], [Store.Put("b", ExpectedRevision.Absent)]], Durability.Full, ct);
        Assert.Equal(2, (await store.ReadChangesAsync(0, ct)).Count);

        await new ChangePruner(PostgresServer.DataSource, schema.Name, store.ChangeRetention).PruneAsync(TimeSpan.Zero, ct);

        // 'a' pruned, 'b' (the newest group) kept.
        ChangeFeedGapException gap = await Assert.ThrowsAsync<ChangeFeedGapException>(async () => await store.ReadChangesAsync(0, ct));
        Assert.Equal(1L, gap.OldestHeld);
        RecoveredState reloaded = await store.ReloadAsync(ct);
        Assert.Equal((2L, 2), (reloaded.Position, reloaded.View.Tasks.Count));
        await using var again = new PostgresStateStore(PostgresServer.DataSource, schema.Name);
        Assert.Equal(2L, (await again.OpenAsync(ct)).Position);
    }

    [Fact]
    public async Task TheReadersPruning_DeletesABacklogABatchAtATime_DueAgainWhileBatchesAreFull()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var store = new PostgresStateStore(PostgresServer.DataSource, schema.Name);
        await store.OpenAsync(ct);
        int groups = (2 * ChangePruner.BatchRows) + 500;
        await store.AppendAsync([.. Enumerable.Range(0, groups).Select(i => (IReadOnlyList<Commit.StateChange>)[Store.Put("t" + i, ExpectedRevision.Absent)])],
            Durability.Full, ct);
        await using (NpgsqlCommand age = PostgresServer.DataSource.CreateCommand(
            $"UPDATE {schema.Name}.changes SET numbered_at = clock_timestamp() - interval '2 hours'"))
        {
            await age.ExecuteNonQueryAsync(ct);
        }

        var pruner = new ChangePruner(PostgresServer.DataSource, schema.Name, TimeSpan.FromHours(1));
        string count = $"SELECT count(*) FROM {schema.Name}.changes";
        long[] left = new long[4];
        for (int pass = 0; pass < left.Length; pass++)
        {
            await pruner.PruneIfDueAsync(ct);
            left[pass] = await ScalarAsync(count, ct);
        }

        // Two full batches, then the rest but the newest group; then not due until the interval has passed.
        Assert.Equal([groups - ChangePruner.BatchRows, groups - (2L * ChangePruner.BatchRows), 1, 1], left);
    }

    private static async Task<long> ScalarAsync(string sql, CancellationToken ct)
    {
        await using NpgsqlCommand command = PostgresServer.DataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
    }
}
