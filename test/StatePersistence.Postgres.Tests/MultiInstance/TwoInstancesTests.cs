using System.Collections.Concurrent;
using System.Globalization;
using StatePersistence.Diagnostics;
using StatePersistence.Errors;
using StatePersistence.Model;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests.MultiInstance;

/// <summary>Two service instances in one process on one schema of the real PostgreSQL, each with its own connection pool.</summary>
public sealed class TwoInstancesTests
{
    [Fact]
    public async Task ACreateRefusedBecauseAnotherInstanceCreatedIt_ReturnsOnlyOnceThisInstanceHoldsIt()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);

        // Twenty times, so a feed that happens to be quick cannot hide the race: B's create is refused by the store
        // before B has applied A's, and what B then says ("it exists") must hold for B's own reads at once. (A PUT
        // that replaced after such a refusal found no task, tried to create again, and answered 409.)
        for (int i = 0; i < 20; i++)
        {
            string id = "raced_" + i.ToString(CultureInfo.InvariantCulture);
            Assert.True(await a.CreateTaskAsync(new AgentTask { Id = id, Description = "from a", Status = "pending" }, ct));

            Assert.False(await b.CreateTaskAsync(new AgentTask { Id = id, Description = "from b", Status = "pending" }, ct));
            Assert.Equal("from a", (await b.LoadTaskAsync(id, ct))?.Description);
        }
    }

    [Fact]
    public async Task WriteOnA_IsReadOnB_OnceApplied_AndRaisedThereAsARemoteChange()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        var remoteOnB = new TaskCompletionSource<RemoteChangesAppliedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        var remoteOnA = new TaskCompletionSource<RemoteChangesAppliedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        b.RemoteChangesApplied += (_, e) => remoteOnB.TrySetResult(e);
        a.RemoteChangesApplied += (_, e) =>
        {
            if (e.Changes.Any(c => c.Deleted))
            {
                remoteOnA.TrySetResult(e);
            }
        };
        using CancellationTokenSource bounded = Bounded(ct);

        Assert.True(await a.CreateTaskAsync(new AgentTask { Id = "t1", Description = "from a", Status = "pending" }, ct));
        long revision = (await a.LoadTaskAsync("t1", ct))!.Revision;

        AgentTask onB = (await b.WaitForTaskAsync("t1", revision, bounded.Token))!;
        Assert.Equal(("from a", revision), (onB.Description, onB.Revision));
        Assert.Equal(new ItemChange("task", "t1", revision, false), Assert.Single((await remoteOnB.Task.WaitAsync(bounded.Token)).Changes));

        // And back: a deletion on B reaches A.
        Assert.True(await b.DeleteTaskAsync("t1", ct));
        ItemChange deleted = Assert.Single((await remoteOnA.Task.WaitAsync(bounded.Token)).Changes);
        Assert.Equal(("task", "t1", true), (deleted.Kind, deleted.Id, deleted.Deleted));
        Assert.True(deleted.Revision > revision);
        Assert.Null(await a.LoadTaskAsync("t1", ct));
    }

    [Fact]
    public async Task StaleConditionalWriteOnB_Conflicts_WithTheCurrentItem()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        using CancellationTokenSource bounded = Bounded(ct);
        await a.SaveTaskAsync(new AgentTask { Id = "t1", Description = "first", Status = "pending" }, ct);
        long first = (await b.WaitForTaskAsync("t1", (await a.LoadTaskAsync("t1", ct))!.Revision, bounded.Token))!.Revision;

        long newer = (await a.UpdateTaskAsync("t1", t => t.Description = "newer", ct))!.Revision;

        // Whether or not B has applied A's update yet, the write expecting the old revision is refused with A's version.
        StateConflictException conflict = await Assert.ThrowsAsync<StateConflictException>(async () =>
            await b.UpdateTaskAsync("t1", t => t.Description = "stale", ExpectedRevision.Exactly(first), ct));
        Assert.Equal(newer, conflict.CurrentRevision);
        Assert.Equal("newer", Assert.IsType<AgentTask>(conflict.Current).Description);
        Assert.Equal("newer", (await a.LoadTaskAsync("t1", ct))!.Description);
    }

    [Fact]
    public async Task ConcurrentConditionalUpdatesOnBothInstances_ExactlyOneWinsPerRevision_NoLostUpdate()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        using CancellationTokenSource bounded = Bounded(ct, minutes: 3);
        await a.SaveTaskAsync(new AgentTask { Id = "counter", Description = "0", Status = "pending" }, ct);
        await b.WaitForTaskAsync("counter", (await a.LoadTaskAsync("counter", ct))!.Revision, bounded.Token);
        var winners = new ConcurrentDictionary<long, string>();
        var written = new ConcurrentBag<long>();
        const int WorkersEach = 3, IncrementsEach = 8;

        // Each worker: read the task on its instance, write the next count expecting the revision it read; on a
        // conflict, catch up to the revision the conflict names and try again.
        await Task.WhenAll(new[] { a, b }.SelectMany((instance, i) => Enumerable.Range(0, WorkersEach).Select(w => Task.Run(async () =>
        {
            for (int done = 0; done < IncrementsEach;)
            {
                AgentTask read = (await instance.LoadTaskAsync("counter", ct))!;
                string next = (int.Parse(read.Description!, CultureInfo.InvariantCulture) + 1).ToString(CultureInfo.InvariantCulture);
                try
                {
                    long wrote = (await instance.UpdateTaskAsync("counter", t => t.Description = next, ExpectedRevision.Exactly(read.Revision), bounded.Token))!.Revision;
                    written.Add(wrote);
                    Assert.True(winners.TryAdd(read.Revision, $"{i}/{w}->{wrote}"), $"two writers won over revision {read.Revision}: {winners[read.Revision]} and {i}/{w}->{wrote}");
                    done++;
                }
                catch (StateConflictException conflict)
                {
                    await instance.WaitForTaskAsync("counter", conflict.CurrentRevision!.Value, bounded.Token);
                }
            }
        }, ct))));

        const int Total = 2 * WorkersEach * IncrementsEach;
        Assert.Equal(Total, winners.Count);
        long last = written.Max();
        Assert.Equal(Total.ToString(CultureInfo.InvariantCulture), (await a.WaitForTaskAsync("counter", last, bounded.Token))!.Description);
        Assert.Equal(Total.ToString(CultureInfo.InvariantCulture), (await b.WaitForTaskAsync("counter", last, bounded.Token))!.Description);
    }

    [Fact]
    public async Task UnconditionalUpdatesOnBothInstances_LoseNoUpdate()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        using CancellationTokenSource bounded = Bounded(ct, minutes: 3);
        await a.SaveTaskAsync(new AgentTask { Id = "counter", Description = "0", Status = "pending" }, ct);
        await b.WaitForTaskAsync("counter", (await a.LoadTaskAsync("counter", ct))!.Revision, bounded.Token);
        var revisions = new ConcurrentBag<long>();
        const int WorkersEach = 3, IncrementsEach = 8;

        // UpdateTaskAsync without an expectation is a read-modify-write: when another instance changed the task
        // after this instance's copy, the service catches up and applies the update again on the newer version.
        await Task.WhenAll(new[] { a, b }.SelectMany(instance => Enumerable.Range(0, WorkersEach).Select(_ => Task.Run(async () =>
        {
            for (int i = 0; i < IncrementsEach; i++)
            {
                AgentTask saved = (await instance.UpdateTaskAsync("counter",
                    t => t.Description = (int.Parse(t.Description!, CultureInfo.InvariantCulture) + 1).ToString(CultureInfo.InvariantCulture), bounded.Token))!;
                revisions.Add(saved.Revision);
            }
        }, ct))));

        const int Total = 2 * WorkersEach * IncrementsEach;
        Assert.Equal(Total, revisions.Distinct().Count());
        Assert.Equal(Total.ToString(CultureInfo.InvariantCulture), (await a.WaitForTaskAsync("counter", revisions.Max(), bounded.Token))!.Description);
        Assert.Equal(Total.ToString(CultureInfo.InvariantCulture), (await b.WaitForTaskAsync("counter", revisions.Max(), bounded.Token))!.Description);
    }

    /// <summary>Only keeps a broken feed from hanging the run; nothing is asserted about time.</summary>
    [Fact]
    public async Task AReplaceRightAfterAnotherInstancesCreateOrDelete_SaysWhatItDid_AndKeepsTheCreatedAt()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        var created = new DateTimeOffset(2026, 11, 1, 9, 0, 0, TimeSpan.Zero);

        // Twenty times, so that B replaces before it has applied A's change in some rounds: its replace, sent as a
        // replace of the version it holds, is refused by the store, and B catches up and decides again.
        for (int i = 0; i < 20; i++)
        {
            string id = "replaced_" + i.ToString(CultureInfo.InvariantCulture);
            await a.ReplaceTaskAsync(new AgentTask { Id = id, Description = "from a", Status = "pending", CreatedAt = created }, ct);

            ItemReplacement overA = await b.ReplaceTaskAsync(new AgentTask { Id = id, Description = "from b", Status = "pending" }, ct);
            AgentTask replaced = (await a.WaitForTaskAsync(id, overA.Revision, ct))!;
            Assert.True(await a.DeleteTaskAsync(id, ExpectedRevision.Exactly(overA.Revision), ct));
            ItemReplacement afterDelete = await b.ReplaceTaskAsync(new AgentTask { Id = id, Description = "again", Status = "pending", UpdatedAt = created.AddDays(1) }, ct);

            Assert.False(overA.Created);
            Assert.Equal(("from b", created), (replaced.Description, replaced.CreatedAt));
            Assert.True(afterDelete.Created);
            AgentTask stored = (await a.WaitForTaskAsync(id, afterDelete.Revision, ct))!;
            Assert.Equal(("again", created.AddDays(1)), (stored.Description, stored.CreatedAt));
        }
    }

    [Fact]
    public async Task AConflictTheReplacesCheckRaises_ReachesTheCaller_AndIsNotTakenForTheStores()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        using CancellationTokenSource bounded = Bounded(ct);
        long revision = (await a.ReplaceTaskAsync(new AgentTask { Id = "t1", Description = "first", Status = "pending" }, ct)).Revision;
        var refusal = new StateConflictException("task", "t1", ExpectedRevision.Any, null, null);

        // A caller's check may refuse with a conflict of its own (the server does for If-Match: * on a create): it is
        // not the store's refusal, so the replace must not wait to catch up with a version that never comes.
        StateConflictException thrown = await Assert.ThrowsAsync<StateConflictException>(async () =>
            await a.ReplaceTaskAsync(new AgentTask { Id = "t1", Description = "second", Status = "pending" }, ExpectedRevision.Any, (_, _) => throw refusal, bounded.Token));

        Assert.Same(refusal, thrown);
        AgentTask kept = (await a.LoadTaskAsync("t1", ct))!;
        Assert.Equal(("first", revision), (kept.Description, kept.Revision));
    }

    [Fact]
    public async Task ConcurrentReplacesOnBothInstances_CreateEachTaskOnce_AndEveryReplaceHasItsOwnRevision()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        using CancellationTokenSource bounded = Bounded(ct, minutes: 2);
        var results = new ConcurrentBag<(string Id, ItemReplacement Result, DateTimeOffset UpdatedAt)>();
        var start = new DateTimeOffset(2026, 11, 1, 9, 0, 0, TimeSpan.Zero);
        long stamp = 0;

        await Task.WhenAll(new[] { a, b }.SelectMany((instance, i) => Enumerable.Range(0, 2).Select(worker => Task.Run(async () =>
        {
            for (int n = 0; n < 15; n++)
            {
                string id = "shared_" + (n % 3).ToString(CultureInfo.InvariantCulture);
                DateTimeOffset updated = start.AddSeconds(Interlocked.Increment(ref stamp));
                ItemReplacement result = await instance.ReplaceTaskAsync(
                    new AgentTask { Id = id, Description = $"{i}-{worker}-{n}", Status = "pending", UpdatedAt = updated }, bounded.Token);
                results.Add((id, result, updated));
            }
        }, bounded.Token))));

        Assert.Equal(results.Count, results.Select(r => r.Result.Revision).Distinct().Count());
        foreach (IGrouping<string, (string Id, ItemReplacement Result, DateTimeOffset UpdatedAt)> task in results.GroupBy(r => r.Id))
        {
            // One replace created the task; every later one kept the created_at it got (its updated_at).
            (string _, ItemReplacement first, DateTimeOffset firstUpdated) = Assert.Single(task, r => r.Result.Created);
            Assert.Equal(task.Min(r => r.Result.Revision), first.Revision);
            long last = task.Max(r => r.Result.Revision);
            AgentTask stored = (await a.WaitForTaskAsync(task.Key, last, bounded.Token))!;
            Assert.Equal((last, firstUpdated), (stored.Revision, stored.CreatedAt));
        }
    }

    /// <summary>
    /// An instance's own commits come back to it through the feed (for the event stream), sometimes before its committer
    /// has applied them: they are still not another instance's changes. B's saves, racing A's, are.
    /// </summary>
    [Fact]
    public async Task AnInstancesOwnCommits_AreNeverRaisedThereAsRemoteChanges()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        var remoteOnA = new ConcurrentQueue<ItemChange>();
        var lastOfB = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        a.RemoteChangesApplied += (_, e) =>
        {
            foreach (ItemChange change in e.Changes)
            {
                remoteOnA.Enqueue(change);
                if (change.Id == "b_9")
                {
                    lastOfB.TrySetResult();
                }
            }
        };

        // Eight writers on A, one on B, concurrently: A's follower delivers A's groups while A's committer applies them.
        Task[] writers = [.. Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            for (int i = 0; i < 40; i++)
            {
                await a.SaveTaskAsync(new AgentTask { Id = $"a{w}_{i % 5}", Description = "from a " + i, Status = "pending" }, ct);
            }
        }, ct)), Task.Run(async () =>
        {
            for (int i = 0; i < 10; i++)
            {
                await b.SaveTaskAsync(new AgentTask { Id = "b_" + i.ToString(CultureInfo.InvariantCulture), Description = "from b", Status = "pending" }, ct);
            }
        }, ct)];
        await Task.WhenAll(writers);

        using CancellationTokenSource bounded = Bounded(ct);
        await lastOfB.Task.WaitAsync(bounded.Token);
        // Every change A saw as remote is one of B's: not one of A's own 320 saves.
        Assert.All(remoteOnA, change => Assert.StartsWith("b_", change.Id, StringComparison.Ordinal));
    }

    private static CancellationTokenSource Bounded(CancellationToken ct, int minutes = 1)
    {
        var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bounded.CancelAfter(TimeSpan.FromMinutes(minutes));
        return bounded;
    }
}
