using System.Text;
using Npgsql;
using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests.Failures;

/// <summary>
/// A write whose caller cancels it while its COMMIT is in flight: the database committed, its answer is held back (a
/// network that stopped delivering), so Npgsql's cancellation finds nothing to cancel and, after its Cancellation
/// Timeout, breaks the connection. The store then asks the database, as for a lost answer: a write it shows stored is
/// answered stored (the caller is not told "cancelled" for a write that happened), and one it cannot settle fails
/// saying it may have been stored. Before 2026-12-07 the caller got an <see cref="OperationCanceledException"/> though
/// the write was stored, and a caller that repeated it appended the text twice.
/// </summary>
public sealed class CancelledCommitTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AnAppendCancelledAfterItsCommitLanded_Succeeds_AndIsStoredOnce()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var proxy = new CommitCuttingProxy();
        await using var store = new PostgresStateStore(QuickToGiveUp(proxy), schema.Name);
        await store.OpenAsync(Ct);
        await store.AppendSessionLogAsync("s1", "one\n"u8.ToArray(), Durability.Full, Ct);

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        Task cut = proxy.Arm(CommitCuttingProxy.Cut.AnswerHeld);
        Task append = store.AppendSessionLogAsync("s1", "two\n"u8.ToArray(), Durability.Full, cancel.Token).AsTask();
        await cut.WaitAsync(Ct);
        await cancel.CancelAsync();
        await append;

        Assert.Equal("one\ntwo\n", await ReadLogDirectlyAsync(schema, "s1"));
        Assert.Equal(1L, store.CheckHealth().Details["commit_answers_lost"]);
    }

    [Fact]
    public async Task ACommitCancelledAfterItLanded_IsReportedCommitted()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var proxy = new CommitCuttingProxy();
        await using var store = new PostgresStateStore(QuickToGiveUp(proxy), schema.Name);
        await store.OpenAsync(Ct);

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        Task cut = proxy.Arm(CommitCuttingProxy.Cut.AnswerHeld);
        Task<IReadOnlyList<CommitOutcome>> commit = store.AppendAsync([[Store.Put("t1", ExpectedRevision.Absent, "one")]], Durability.Full, cancel.Token).AsTask();
        await cut.WaitAsync(Ct);
        await cancel.CancelAsync();
        CommitOutcome outcome = (await commit)[0];

        Assert.True(outcome.Committed);
        await using var direct = new PostgresStateStore(PostgresServer.DataSource, schema.Name);
        await direct.OpenAsync(Ct);
        Assert.Equal(outcome.Revision, await direct.ReadItemRevisionAsync(task: true, "t1", Ct));
    }

    [Fact]
    public async Task ABlindSaveCancelledAfterItLanded_FailsSayingItMayHaveBeenStored_NotThatItWasCancelled()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var proxy = new CommitCuttingProxy();
        await using var store = new PostgresStateStore(QuickToGiveUp(proxy), schema.Name);
        await store.OpenAsync(Ct);

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        Task cut = proxy.Arm(CommitCuttingProxy.Cut.AnswerHeld);
        Task<IReadOnlyList<CommitOutcome>> commit = store.AppendAsync([[Store.Put("t1", ExpectedRevision.Any, "one")]], Durability.Full, cancel.Token).AsTask();
        await cut.WaitAsync(Ct);
        await cancel.CancelAsync();
        Exception? failed = await Record.ExceptionAsync(() => commit);

        StateOutcomeUnknownException unknown = Assert.IsType<StateOutcomeUnknownException>(failed);
        Assert.Contains("may have been stored", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("cancelled by the caller", unknown.Message, StringComparison.Ordinal);
        Assert.True(unknown.IsTransient);
    }

    /// <summary>Through <paramref name="proxy"/>, giving up on a cancellation the database does not answer after 0.3 s (not 2).</summary>
    private static string QuickToGiveUp(CommitCuttingProxy proxy) =>
        new NpgsqlConnectionStringBuilder(proxy.ConnectionString) { CancellationTimeout = 300 }.ConnectionString;

    private static async Task<string> ReadLogDirectlyAsync(TestSchema schema, string sessionId)
    {
        await using var direct = new PostgresStateStore(PostgresServer.DataSource, schema.Name);
        await direct.OpenAsync(Ct);
        return Encoding.UTF8.GetString(await direct.ReadSessionLogAsync(sessionId, Ct) ?? []);
    }
}
