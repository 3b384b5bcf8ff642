using Npgsql;
using StatePersistence.Commit;
using StatePersistence.Model;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests.Retention;

/// <summary>
/// A database restored to an earlier point under running instances (the README says to stop them first; an operator
/// at 3 a.m. may not). The feed then ends before positions the instances already passed, and new changes get those
/// positions again: an instance reading after its own place never saw them, and kept serving what the restore had
/// removed (the audit restored a pg_dump under three instances). A read after a position past the feed's end is now a
/// gap, so the instance reloads, as when it fell behind the horizon.
/// </summary>
public sealed class RestoredDatabaseTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AReadPastTheEndOfARestoredFeed_IsAGapNamingTheRestore()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var store = new PostgresStateStore(PostgresServer.DataSource, schema.Name);
        await store.OpenAsync(Ct);
        await store.AppendAsync([[Store.Put("a", ExpectedRevision.Absent)], [Store.Put("b", ExpectedRevision.Absent)],
            [Store.Put("c", ExpectedRevision.Absent)]], Durability.Full, Ct);
        Assert.Equal(3, (await store.ReadChangesAsync(0, Ct)).Count);

        await RestoreToAfterAsync(schema.Name, "a");

        ChangeFeedGapException gap = await Assert.ThrowsAsync<ChangeFeedGapException>(async () => await store.ReadChangesAsync(3, Ct));
        Assert.Equal((3L, 1L), (gap.AfterRevision, gap.OldestHeld));
        Assert.Contains("restored to an earlier point", gap.Message, StringComparison.Ordinal);
        Assert.Empty(await store.ReadChangesAsync(1, Ct));
    }

    [Fact]
    public async Task InstancesRunningThroughARestore_ReloadIt_AndSeeTheWritesAfterIt()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: Ct);
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: Ct);
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        bounded.CancelAfter(TimeSpan.FromSeconds(60));
        foreach (string id in new[] { "t1", "t2", "t3" })
        {
            await a.SaveTaskAsync(NewTask(id), Ct);
        }

        await b.WaitForTaskAsync("t3", (await a.LoadTaskAsync("t3", Ct))!.Revision, bounded.Token);

        await RestoreToAfterAsync(schema.Name, "t1");
        await a.SaveTaskAsync(NewTask("after"), bounded.Token);
        long after = (await a.LoadTaskAsync("after", Ct))!.Revision;

        Assert.Equal("d", (await b.WaitForTaskAsync("after", after, bounded.Token))!.Description);
        while (await b.LoadTaskAsync("t2", Ct) is not null || await a.LoadTaskAsync("t3", Ct) is not null)
        {
            await Task.Delay(20, bounded.Token);
        }

        Assert.NotNull(await b.LoadTaskAsync("t1", Ct));
    }

    /// <summary>
    /// The instance that wrote the changes a restore removed remembered their positions as its own commits, above the
    /// reloaded feed's place: its reader read the table in a loop with no wait until new commits passed them (on an idle
    /// store, for ever).
    /// </summary>
    [Fact]
    public async Task AnInstanceWhoseCommitsARestoreRemoved_FollowsTheFeedAtItsPace_NotInALoop()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        var storeA = new PostgresStateStore(PostgresServer.ConnectionString, schema.Name, pollInterval: TimeSpan.FromSeconds(1));
        await using var a = new StatePersistenceService(new StatePersistenceOptions(), storeA);
        await a.StartAsync(Ct);
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        bounded.CancelAfter(TimeSpan.FromSeconds(60));
        foreach (string id in new[] { "t1", "t2", "t3", "t4", "t5" })
        {
            await a.SaveTaskAsync(NewTask(id), Ct);
        }

        await RestoreToAfterAsync(schema.Name, "t1");
        await a.SaveTaskAsync(NewTask("after"), bounded.Token);
        while (await a.LoadTaskAsync("t3", Ct) is not null)
        {
            await Task.Delay(20, bounded.Token);
        }

        // Idle now: at a poll interval of a second the reader reads the table about twice in two seconds.
        long before = storeA.FeedTableReads;
        await Task.Delay(TimeSpan.FromSeconds(2), bounded.Token);
        long reads = storeA.FeedTableReads - before;
        Assert.True(reads <= 10, $"the feed read the table {reads} times in 2 idle seconds");
    }

    private static AgentTask NewTask(string id) => new() { Id = id, Description = "d", Status = "pending" };

    /// <summary>
    /// What restoring a backup taken right after <paramref name="id"/>'s change does to the store's tables: the later
    /// changes and items gone, the revision sequence back where it was.
    /// </summary>
    private static async Task RestoreToAfterAsync(string schema, string id)
    {
        await using NpgsqlCommand restore = PostgresServer.DataSource.CreateCommand($"""
            DELETE FROM {schema}.items WHERE revision > (SELECT revision FROM {schema}.changes WHERE id = '{id}');
            SELECT setval('{schema}.revisions', (SELECT revision FROM {schema}.changes WHERE id = '{id}'));
            DELETE FROM {schema}.changes WHERE position > (SELECT position FROM {schema}.changes WHERE id = '{id}');
            """);
        await restore.ExecuteNonQueryAsync(Ct);
    }
}
