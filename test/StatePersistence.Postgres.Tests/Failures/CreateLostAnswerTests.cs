using System.Text;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests.Failures;

/// <summary>
/// A create only where none exists (a session log's, a report's: what an archive restore writes with) whose connection
/// is lost after the database answered its COMMIT asks the database, as an append does, and answers created: the row
/// is there, written by it. Before 2026-12-07 it failed (503 "nothing of this request was stored") though stored, and
/// the retry then found the row "already there".
/// </summary>
public sealed class CreateLostAnswerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ALogCreateWhoseAnswerWasLost_AnswersCreated_AndTheLogHoldsItOnce()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var proxy = new CommitCuttingProxy();
        await using var store = new PostgresStateStore(proxy.ConnectionString, schema.Name);
        await store.OpenAsync(Ct);

        Task cut = proxy.Arm(CommitCuttingProxy.Cut.AnswerLost);
        bool created = await store.TryCreateSessionLogAsync("s1", "restored\n"u8.ToArray(), Durability.Full, Ct);

        Assert.True(cut.IsCompleted, "the proxy did not cut the create's commit");
        Assert.True(created);
        Assert.Equal("restored\n", await ReadLogDirectlyAsync(schema, "s1"));
        Assert.Equal(1L, store.CheckHealth().Details["commit_answers_lost"]);
    }

    [Fact]
    public async Task AReportCreateWhoseAnswerWasLost_AnswersCreated_AndTheReportIsStored()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var proxy = new CommitCuttingProxy();
        await using var store = new PostgresStateStore(proxy.ConnectionString, schema.Name);
        await store.OpenAsync(Ct);

        Task cut = proxy.Arm(CommitCuttingProxy.Cut.AnswerLost);
        bool created = await store.TryCreateReportAsync("r1", "{\"a\":1}"u8.ToArray(), Durability.Full, Ct);

        Assert.True(cut.IsCompleted, "the proxy did not cut the create's commit");
        Assert.True(created);
        await using var direct = new PostgresStateStore(PostgresServer.DataSource, schema.Name);
        await direct.OpenAsync(Ct);
        Assert.Equal("{\"a\":1}", Encoding.UTF8.GetString(await direct.LoadReportAsync("r1", Ct) ?? []));
        Assert.Equal(1L, store.CheckHealth().Details["commit_answers_lost"]);
    }

    private static async Task<string> ReadLogDirectlyAsync(TestSchema schema, string sessionId)
    {
        await using var direct = new PostgresStateStore(PostgresServer.DataSource, schema.Name);
        await direct.OpenAsync(Ct);
        return Encoding.UTF8.GetString(await direct.ReadSessionLogAsync(sessionId, Ct) ?? []);
    }
}
