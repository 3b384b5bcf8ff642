using System.Globalization;
using StatePersistence.Model;
using StatePersistence.Querying;
using StatePersistence.Postgres.Tests.Support;

namespace StatePersistence.Postgres.Tests.MultiInstance;

/// <summary>
/// Two instances creating and deleting tasks on one database, each remembering only the last few deletions (the
/// default keeps 4,096): what they forget must not bring a deleted task back, nor leave a wait for one of its
/// revisions hanging. Before, each instance kept every deletion it ever applied, until it reloaded.
/// </summary>
public sealed class TombstonePruningTests
{
    private const int Kept = 4;
    private const int TasksEach = 60;

    [Fact]
    public async Task DeletionsOnTwoInstances_AreForgottenBeyondTheNumberKept_AndDeletedTasksStayDeleted()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, Options(), cancellationToken: ct);
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, Options(), cancellationToken: ct);

        Task<Dictionary<string, long>> onA = ChurnAsync(a, "a", ct);
        Task<Dictionary<string, long>> onB = ChurnAsync(b, "b", ct);
        Dictionary<string, long> created = (await onA).Concat(await onB).ToDictionary();

        // Each instance's feed has delivered all of both instances' deletions once it holds a task the other created
        // after them, under full durability (a group is numbered in its own transaction, so in commit order).
        await SettleAsync(a, b, ct);

        foreach (StatePersistenceService instance in new[] { a, b })
        {
            Assert.InRange(instance.SharedTombstoneCount, 0, Kept);
            Assert.Equal(["marker_a", "marker_b"], (await instance.QueryTasksAsync(new TaskQuery(), ct)).Tasks.Select(t => t.Id).Order());
        }

        // A read-your-writes wait for a revision a task had before its deletion ends, on both instances, though
        // neither remembers the deletion any more: the store is asked whether the task still exists.
        foreach ((string id, long revision) in created.Take(5))
        {
            Assert.Null(await a.WaitForTaskAsync(id, revision, ct).AsTask().WaitAsync(TimeSpan.FromSeconds(30), ct));
            Assert.Null(await b.WaitForTaskAsync(id, revision, ct).AsTask().WaitAsync(TimeSpan.FromSeconds(30), ct));
        }
    }

    private static StatePersistenceOptions Options() => new() { TombstonesKept = Kept };

    private static async Task<Dictionary<string, long>> ChurnAsync(StatePersistenceService instance, string name, CancellationToken ct)
    {
        var created = new Dictionary<string, long>();
        for (int i = 0; i < TasksEach; i++)
        {
            string id = string.Create(CultureInfo.InvariantCulture, $"{name}_{i}");
            Assert.True(await instance.CreateTaskAsync(new AgentTask { Id = id, Description = "churn", Status = "pending" }, ct));
            created[id] = (await instance.LoadTaskAsync(id, ct))!.Revision;
            Assert.True(await instance.DeleteTaskAsync(id, ct));
        }

        return created;
    }

    private static async Task SettleAsync(StatePersistenceService a, StatePersistenceService b, CancellationToken ct)
    {
        Assert.True(await a.CreateTaskAsync(new AgentTask { Id = "marker_a", Status = "pending" }, ct));
        await b.WaitForTaskAsync("marker_a", (await a.LoadTaskAsync("marker_a", ct))!.Revision, ct).AsTask().WaitAsync(TimeSpan.FromSeconds(30), ct);
        Assert.True(await b.CreateTaskAsync(new AgentTask { Id = "marker_b", Status = "pending" }, ct));
        await a.WaitForTaskAsync("marker_b", (await b.LoadTaskAsync("marker_b", ct))!.Revision, ct).AsTask().WaitAsync(TimeSpan.FromSeconds(30), ct);
    }
}
