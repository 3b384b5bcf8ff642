using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests.Failures;

/// <summary>
/// A plain save (no change expects a revision) is one round trip, its transaction's start, writes and COMMIT sent
/// together, so when that answer is lost its transaction's id is lost with it and the database cannot be asked about
/// it. It fails, saying it may have been stored (the server then does not answer "nothing of this request was
/// stored"). Before 2026-12-07 it failed as any database failure did, which the server answered with "nothing of this
/// request was stored" though the save was there.
/// </summary>
public sealed class BlindSaveAnswerLostTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ABlindSaveWhoseAnswerWasLost_FailsSayingItMayHaveBeenStored()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var proxy = new CommitCuttingProxy();
        await using var store = new PostgresStateStore(proxy.ConnectionString, schema.Name);
        await store.OpenAsync(Ct);

        Task cut = proxy.Arm(CommitCuttingProxy.Cut.AnswerLost);
        StateStorageException failed = await Assert.ThrowsAnyAsync<StateStorageException>(async () =>
            await store.AppendAsync([[Store.Put("t1", ExpectedRevision.Any, "one")]], Durability.Full, Ct));

        Assert.True(cut.IsCompleted, "the proxy did not cut the commit");
        Assert.IsType<StateOutcomeUnknownException>(failed);
        Assert.True(failed.IsTransient);
        Assert.Contains("could not commit changes", failed.Message, StringComparison.Ordinal);
        Assert.Contains("may have been stored", failed.Message, StringComparison.Ordinal);
        await using var direct = new PostgresStateStore(PostgresServer.DataSource, schema.Name);
        await direct.OpenAsync(Ct);
        Assert.NotNull(await direct.ReadItemRevisionAsync(task: true, "t1", Ct));
    }

    [Fact]
    public async Task ACommitThatNeverReachedTheDatabase_StillFailsAsNothingStored()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var proxy = new CommitCuttingProxy();
        await using var store = new PostgresStateStore(proxy.ConnectionString, schema.Name);
        await store.OpenAsync(Ct);

        Task cut = proxy.Arm(CommitCuttingProxy.Cut.CommitLost);
        StateStorageException failed = await Assert.ThrowsAnyAsync<StateStorageException>(async () =>
            await store.AppendAsync([[Store.Put("t1", ExpectedRevision.Absent, "one")]], Durability.Full, Ct));

        // Settled: the database shows the transaction aborted, so the failure is an ordinary one.
        Assert.True(cut.IsCompleted, "the proxy did not cut the commit");
        Assert.IsNotType<StateOutcomeUnknownException>(failed);
        Assert.DoesNotContain("may have been stored", failed.Message, StringComparison.Ordinal);
    }
}
