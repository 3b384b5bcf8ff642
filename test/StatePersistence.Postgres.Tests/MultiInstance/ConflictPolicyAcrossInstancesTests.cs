using System.Collections.Concurrent;
using StatePersistence.Model;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests.MultiInstance;

public sealed class ConflictPolicyAcrossInstancesTests
{
    [Fact]
    public async Task LastWriterWins_OnTwoInstances_AcceptsEveryStaleWrite_EachWithItsOwnRevision()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService a = await OpenAsync(schema.Name, new StatePersistenceOptions { ConflictPolicy = ConflictPolicy.LastWriterWins }, ct);
        await using StatePersistenceService b = await OpenAsync(schema.Name, new StatePersistenceOptions { ConflictPolicy = ConflictPolicy.LastWriterWins }, ct);
        await a.SaveTaskAsync(new AgentTask { Id = "t1", Description = "0", Status = "pending" }, ct);
        long first = (await a.LoadTaskAsync("t1", ct))!.Revision;
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bounded.CancelAfter(TimeSpan.FromMinutes(2));
        await b.WaitForTaskAsync("t1", first, bounded.Token);
        var accepted = new ConcurrentBag<long>();

        // Every write expects the first revision, so all but one are stale; under last-writer-wins each is stored.
        await Task.WhenAll(new[] { a, b }.Select((instance, i) => Task.Run(async () =>
        {
            for (int n = 0; n < 10; n++)
            {
                AgentTask saved = (await instance.UpdateTaskAsync("t1", t => t.Description = $"{i}-{n}", ExpectedRevision.Exactly(first), bounded.Token))!;
                accepted.Add(saved.Revision);
            }
        }, ct)));

        Assert.Equal(20, accepted.Distinct().Count());
        AgentTask last = (await a.WaitForTaskAsync("t1", accepted.Max(), bounded.Token))!;
        Assert.Equal(accepted.Max(), last.Revision);
    }

    [Fact]
    public async Task Merge_OnInstanceB_CombinesItsStaleWriteWithInstanceAsNewerVersion()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService a = await OpenAsync(schema.Name, new StatePersistenceOptions(), ct);
        await using StatePersistenceService b = await OpenAsync(schema.Name, new StatePersistenceOptions
        {
            ConflictPolicy = ConflictPolicy.Merge,
            MergeTask = (current, attempted) =>
            {
                attempted.Description = current.Description + " & " + attempted.Description;
                return attempted;
            },
        }, ct);
        await a.SaveTaskAsync(new AgentTask { Id = "t1", Description = "base", Status = "pending" }, ct);
        long first = (await a.LoadTaskAsync("t1", ct))!.Revision;
        long theirs = (await a.UpdateTaskAsync("t1", t => t.Description = "from a", ct))!.Revision;

        // B may not have applied A's update yet: the store's conflict carries A's version, and the merge uses it.
        await b.SaveTaskAsync(new AgentTask { Id = "t1", Description = "from b", Status = "pending" }, ExpectedRevision.Exactly(first), ct);

        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bounded.CancelAfter(TimeSpan.FromMinutes(1));
        AgentTask merged = (await b.LoadTaskAsync("t1", ct))!;
        Assert.Equal("from a & from b", merged.Description);
        Assert.True(merged.Revision > theirs);
        Assert.Equal("from a & from b", (await a.WaitForTaskAsync("t1", merged.Revision, bounded.Token))!.Description);
    }

    private static Task<StatePersistenceService> OpenAsync(string schema, StatePersistenceOptions options, CancellationToken ct) =>
        PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema, options, cancellationToken: ct);
}
