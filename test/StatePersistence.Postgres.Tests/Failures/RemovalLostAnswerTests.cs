using System.Text;
using Npgsql;
using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests.Failures;

/// <summary>
/// A removal whose COMMIT lost its answer (the connection cut after the database committed it, or a caller's
/// cancellation the database did not answer) is settled by asking the database: it answers removed when the rows are
/// gone, never "could not remove". A delete of an item expecting a revision is a commit like any other (its change row
/// is looked for by its transaction's id: <see cref="CommitAnswerLostTests"/>). The removals of what a task archive
/// took along (a report, a session log, each only while unchanged) are settled the same way; before 2026-12-07 they
/// failed ("could not remove the archived report") though the rows were gone, failing the archive run.
/// </summary>
public sealed class RemovalLostAnswerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AConditionalDeleteWhoseAnswerWasLost_IsReportedCommitted_AndTheItemIsGone()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var proxy = new CommitCuttingProxy();
        await using var store = new PostgresStateStore(proxy.ConnectionString, schema.Name);
        await store.OpenAsync(Ct);
        long first = (await store.AppendAsync([[Store.Put("t1", ExpectedRevision.Absent, "one")]], Durability.Full, Ct))[0].Revision;

        Task cut = proxy.Arm(CommitCuttingProxy.Cut.AnswerLost);
        CommitOutcome outcome = (await store.AppendAsync([[Store.Delete("t1", ExpectedRevision.Exactly(first))]], Durability.Full, Ct))[0];

        Assert.True(cut.IsCompleted, "the proxy did not cut the commit");
        Assert.True(outcome.Committed);
        Assert.Null(await ReadRevisionDirectlyAsync(schema, "t1"));
        Assert.Equal(1L, store.CheckHealth().Details["commit_answers_lost"]);
    }

    [Fact]
    public async Task AConditionalDeleteCancelledAfterItLanded_IsReportedCommitted()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var proxy = new CommitCuttingProxy();
        await using var store = new PostgresStateStore(QuickToGiveUp(proxy), schema.Name);
        await store.OpenAsync(Ct);
        long first = (await store.AppendAsync([[Store.Put("t1", ExpectedRevision.Absent, "one")]], Durability.Full, Ct))[0].Revision;

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        Task cut = proxy.Arm(CommitCuttingProxy.Cut.AnswerHeld);
        Task<IReadOnlyList<CommitOutcome>> commit = store.AppendAsync([[Store.Delete("t1", ExpectedRevision.Exactly(first))]], Durability.Full, cancel.Token).AsTask();
        await cut.WaitAsync(Ct);
        await cancel.CancelAsync();
        CommitOutcome outcome = (await commit)[0];

        Assert.True(outcome.Committed);
        Assert.Null(await ReadRevisionDirectlyAsync(schema, "t1"));
    }

    [Fact]
    public async Task AServiceDeleteExpectingARevision_WhoseAnswerWasLost_AnswersDeleted()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var proxy = new CommitCuttingProxy();
        await using StatePersistenceService service = await PostgresStatePersistence.OpenAsync(proxy.ConnectionString, schema.Name,
            new StatePersistenceOptions { AutosaveInterval = TimeSpan.Zero }, cancellationToken: Ct);
        await service.SaveTaskAsync(new Model.AgentTask { Id = "t1", Description = "one", Status = "pending" }, Ct);
        long revision = service.Revision;

        Task cut = proxy.Arm(CommitCuttingProxy.Cut.AnswerLost);
        bool deleted = await service.DeleteTaskAsync("t1", ExpectedRevision.Exactly(revision), Ct);

        Assert.True(cut.IsCompleted, "the proxy did not cut the commit");
        Assert.True(deleted);
        Assert.Null(await service.LoadTaskAsync("t1", Ct));
        Assert.Null(await ReadRevisionDirectlyAsync(schema, "t1"));
    }

    [Fact]
    public async Task AnArchivedReportRemovalWhoseAnswerWasLost_AnswersRemoved()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var proxy = new CommitCuttingProxy();
        await using var store = new PostgresStateStore(proxy.ConnectionString, schema.Name);
        await store.OpenAsync(Ct);
        byte[] report = "{\"a\":1}"u8.ToArray();
        Assert.True(await store.TryCreateReportAsync("r1", report, Durability.Full, Ct));

        Task cut = proxy.Arm(CommitCuttingProxy.Cut.AnswerLost);
        bool removed = await store.RemoveReportIfUnchangedAsync("r1", report, Ct);

        Assert.True(cut.IsCompleted, "the proxy did not cut the commit");
        Assert.True(removed);
        Assert.Null(await LoadReportDirectlyAsync(schema, "r1"));
        Assert.Equal(1L, store.CheckHealth().Details["commit_answers_lost"]);
    }

    [Fact]
    public async Task AnArchivedReportRemovalCancelledAfterItLanded_AnswersRemoved_NotCancelled()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var proxy = new CommitCuttingProxy();
        await using var store = new PostgresStateStore(QuickToGiveUp(proxy), schema.Name);
        await store.OpenAsync(Ct);
        byte[] report = "{\"a\":1}"u8.ToArray();
        Assert.True(await store.TryCreateReportAsync("r1", report, Durability.Full, Ct));

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        Task cut = proxy.Arm(CommitCuttingProxy.Cut.AnswerHeld);
        Task<bool> removal = store.RemoveReportIfUnchangedAsync("r1", report, cancel.Token).AsTask();
        await cut.WaitAsync(Ct);
        await cancel.CancelAsync();

        Assert.True(await removal);
        Assert.Null(await LoadReportDirectlyAsync(schema, "r1"));
    }

    [Fact]
    public async Task AnArchivedReportRemovalThatNeverReachedTheDatabase_FailsAsNotRemoved_AndTheReportStays()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var proxy = new CommitCuttingProxy();
        await using var store = new PostgresStateStore(proxy.ConnectionString, schema.Name);
        await store.OpenAsync(Ct);
        byte[] report = "{\"a\":1}"u8.ToArray();
        Assert.True(await store.TryCreateReportAsync("r1", report, Durability.Full, Ct));

        Task cut = proxy.Arm(CommitCuttingProxy.Cut.CommitLost);
        StateStorageException failed = await Assert.ThrowsAnyAsync<StateStorageException>(async () => await store.RemoveReportIfUnchangedAsync("r1", report, Ct));

        // Settled: the database shows the transaction aborted, so the failure is an ordinary one and the report is there.
        Assert.True(cut.IsCompleted, "the proxy did not cut the commit");
        Assert.IsNotType<StateOutcomeUnknownException>(failed);
        Assert.Equal("{\"a\":1}", await LoadReportDirectlyAsync(schema, "r1"));
    }

    [Fact]
    public async Task AnArchivedLogRemovalWhoseAnswerWasLost_AnswersRemoved()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var proxy = new CommitCuttingProxy();
        await using var store = new PostgresStateStore(proxy.ConnectionString, schema.Name);
        await store.OpenAsync(Ct);
        byte[] log = "one\n"u8.ToArray();
        await store.AppendSessionLogAsync("s1", log, Durability.Full, Ct);

        Task cut = proxy.Arm(CommitCuttingProxy.Cut.AnswerLost);
        bool removed = await store.RemoveSessionLogIfUnchangedAsync("s1", log, Ct);

        Assert.True(cut.IsCompleted, "the proxy did not cut the commit");
        Assert.True(removed);
        await using (var direct = new PostgresStateStore(PostgresServer.DataSource, schema.Name))
        {
            await direct.OpenAsync(Ct);
            Assert.Null(await direct.ReadSessionLogAsync("s1", Ct));
        }

        Assert.Equal(1L, store.CheckHealth().Details["commit_answers_lost"]);
    }

    /// <summary>
    /// A session log's removal (a session deletion's, <c>RemoveSessionLogAsync</c>) whose COMMIT lost its answer: settled
    /// as removed. Before 2026-12-07 it was never settled: it failed ("could not remove the log") though the rows were gone.
    /// </summary>
    [Fact]
    public async Task ALogRemovalWhoseAnswerWasLost_AnswersRemoved()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var proxy = new CommitCuttingProxy();
        await using var store = new PostgresStateStore(proxy.ConnectionString, schema.Name);
        await store.OpenAsync(Ct);
        await store.AppendSessionLogAsync("s1", "one\n"u8.ToArray(), Durability.Full, Ct);
        await store.AppendSessionLogAsync("s1", "two\n"u8.ToArray(), Durability.Full, Ct);

        Task cut = proxy.Arm(CommitCuttingProxy.Cut.AnswerLost);
        Exception? failed = await Record.ExceptionAsync(async () => await store.RemoveSessionLogAsync("s1", Ct));

        Assert.True(cut.IsCompleted, "the proxy did not cut the commit");
        Assert.Null(failed);
        await using (var direct = new PostgresStateStore(PostgresServer.DataSource, schema.Name))
        {
            await direct.OpenAsync(Ct);
            Assert.Null(await direct.ReadSessionLogAsync("s1", Ct));
        }

        Assert.Equal(1L, store.CheckHealth().Details["commit_answers_lost"]);
    }

    /// <summary>Through <paramref name="proxy"/>, giving up on a cancellation the database does not answer after 0.3 s (not 2).</summary>
    private static string QuickToGiveUp(CommitCuttingProxy proxy) =>
        new NpgsqlConnectionStringBuilder(proxy.ConnectionString) { CancellationTimeout = 300 }.ConnectionString;

    private static async Task<long?> ReadRevisionDirectlyAsync(TestSchema schema, string id)
    {
        await using var direct = new PostgresStateStore(PostgresServer.DataSource, schema.Name);
        await direct.OpenAsync(Ct);
        return await direct.ReadItemRevisionAsync(task: true, id, Ct);
    }

    private static async Task<string?> LoadReportDirectlyAsync(TestSchema schema, string id)
    {
        await using var direct = new PostgresStateStore(PostgresServer.DataSource, schema.Name);
        await direct.OpenAsync(Ct);
        return await direct.LoadReportAsync(id, Ct) is { } bytes ? Encoding.UTF8.GetString(bytes) : null;
    }
}
