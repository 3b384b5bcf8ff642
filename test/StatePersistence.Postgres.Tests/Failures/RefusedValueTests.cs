using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.Model;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests.Failures;

/// <summary>
/// A value PostgreSQL refuses (here a NUL in a string, which <c>jsonb</c> cannot hold: SQLSTATE 22P05) fails only the
/// save holding it. The core batches the saves of independent callers into one call, and the store commits a call in
/// one transaction, so the refusal used to roll back and fail every save batched with it (the security audit: 34 of
/// 40 valid PUTs racing 40 refused ones failed).
/// </summary>
public sealed class RefusedValueTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ACallWhoseMiddleGroupHoldsARefusedValue_CommitsTheOthers_AndFailsThatGroupAlone()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var store = new PostgresStateStore(PostgresServer.ConnectionString, schema.Name);
        await store.OpenAsync(Ct);

        IReadOnlyList<CommitOutcome> outcomes = await store.AppendAsync(
            [[Store.Put("a", ExpectedRevision.Absent)], [Store.Put("b", ExpectedRevision.Absent, "nul \0 here")], [Store.Put("c", ExpectedRevision.Absent)]],
            Durability.Full, Ct);

        Assert.True(outcomes[0].Committed);
        Assert.False(outcomes[1].Committed);
        StateStorageException refused = Assert.IsType<StateStorageException>(outcomes[1].Failure);
        Assert.Contains("could not commit changes", refused.Message, StringComparison.Ordinal);
        Assert.False(refused.IsTransient);
        Assert.True(outcomes[2].Committed);
        Assert.True(outcomes[2].Revision > outcomes[0].Revision);

        RecoveredState reloaded = await store.ReloadAsync(Ct);
        Assert.Equal(["a", "c"], reloaded.View.Tasks.Keys.Order(StringComparer.Ordinal));
        Assert.Equal([outcomes[0].Revision, outcomes[2].Revision], (await store.ReadChangesAsync(0, Ct)).Select(g => g.Revision));
    }

    [Fact]
    public async Task SavesRacingSavesOfRefusedValues_AreAllStored_AndEachRefusedSaveFailsOnItsOwn()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService service = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: Ct);

        Task[] good = [.. Enumerable.Range(0, 40).Select(i => service.SaveTaskAsync(new AgentTask { Id = $"good_{i}", Description = "fine" }, Ct).AsTask())];
        Task[] bad = [.. Enumerable.Range(0, 40).Select(i => service.SaveTaskAsync(new AgentTask { Id = $"bad_{i}", Description = "nul \0 here" }, Ct).AsTask())];
        await Task.WhenAll(good.Concat(bad).Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));

        Assert.All(good, t => Assert.True(t.IsCompletedSuccessfully, t.Exception?.InnerException?.Message));
        Assert.All(bad, t => Assert.IsType<StateStorageException>(t.Exception?.InnerException));
        for (int i = 0; i < 40; i++)
        {
            Assert.NotNull(await service.LoadTaskAsync($"good_{i}", Ct));
            Assert.Null(await service.LoadTaskAsync($"bad_{i}", Ct));
        }
    }
}
