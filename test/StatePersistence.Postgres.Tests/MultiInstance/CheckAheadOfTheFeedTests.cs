using System.Globalization;
using StatePersistence.Model;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests.MultiInstance;

/// <summary>
/// A caller's check (the server's quotas) on instance B right after instance A created the task, before B's feed has
/// delivered it: B's copy says the replace creates the task, the store's says it replaces it.
/// </summary>
public sealed class CheckAheadOfTheFeedTests
{
    private const int Rounds = 30;

    [Fact]
    public async Task AReplaceOnB_WhoseCheckRefusesCreates_ReplacesATaskAJustCreated()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);

        for (int i = 0; i < Rounds; i++)
        {
            string id = "replaced_" + i.ToString(CultureInfo.InvariantCulture);
            Assert.True(await a.CreateTaskAsync(new AgentTask { Id = id, Description = "from a", Status = "pending" }, ct));
            ItemReplacement replaced = await b.ReplaceTaskAsync(new AgentTask { Id = id, Description = "from b", Status = "pending" }, ExpectedRevision.Any,
                (_, created) =>
                {
                    if (created)
                    {
                        throw new InvalidOperationException($"quota: no more tasks may be created ({id})");
                    }
                }, ct);

            Assert.False(replaced.Created);
        }
    }
}
