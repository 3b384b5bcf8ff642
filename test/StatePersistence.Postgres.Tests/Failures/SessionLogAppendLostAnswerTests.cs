using System.Text;
using StatePersistence.Errors;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests.Failures;

/// <summary>
/// A session log append whose connection is lost at its COMMIT asks the database whether that commit happened: when it
/// did, the append succeeds (it is stored, and an error would make the caller append the text a second time); when the
/// COMMIT never arrived, the append fails and nothing is stored. An answer lost is counted in the health details
/// (<c>commit_answers_lost</c>). Before 2026-12-07 both failed, so a client told 503
/// repeated a stored append and the log held it twice.
/// </summary>
public sealed class SessionLogAppendLostAnswerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AnAppendWhoseCommitLandedButWhoseAnswerWasLost_Succeeds_AndIsStoredOnce()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var proxy = new CommitCuttingProxy();
        await using var store = new PostgresStateStore(proxy.ConnectionString, schema.Name);
        await store.OpenAsync(Ct);
        await store.AppendSessionLogAsync("s1", "one\n"u8.ToArray(), Durability.Full, Ct);

        Task cut = proxy.Arm(CommitCuttingProxy.Cut.AnswerLost);
        await store.AppendSessionLogAsync("s1", "two\n"u8.ToArray(), Durability.Full, Ct);

        Assert.True(cut.IsCompleted, "the proxy did not cut the append's commit");
        Assert.Equal("one\ntwo\n", await ReadDirectlyAsync(schema, "s1"));
        Assert.Equal(1L, store.CheckHealth().Details["commit_answers_lost"]);
    }

    [Fact]
    public async Task AnAppendWhoseCommitNeverReachedTheDatabase_Fails_AndStoresNothing()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var proxy = new CommitCuttingProxy();
        await using var store = new PostgresStateStore(proxy.ConnectionString, schema.Name);
        await store.OpenAsync(Ct);
        await store.AppendSessionLogAsync("s1", "one\n"u8.ToArray(), Durability.Full, Ct);

        Task cut = proxy.Arm(CommitCuttingProxy.Cut.CommitLost);
        StateStorageException failed = await Assert.ThrowsAsync<StateStorageException>(
            () => store.AppendSessionLogAsync("s1", "two\n"u8.ToArray(), Durability.Full, Ct).AsTask());

        Assert.True(cut.IsCompleted, "the proxy did not cut the append's commit");
        Assert.True(failed.IsTransient);
        Assert.Contains("append to the log of session 's1'", failed.Message, StringComparison.Ordinal);
        Assert.Equal("one\n", await ReadDirectlyAsync(schema, "s1"));
        Assert.Equal(0L, store.CheckHealth().Details["commit_answers_lost"]);
    }

    /// <summary>The log's text as a store straight on the database reads it.</summary>
    private static async Task<string> ReadDirectlyAsync(TestSchema schema, string sessionId)
    {
        await using var direct = new PostgresStateStore(PostgresServer.DataSource, schema.Name);
        await direct.OpenAsync(Ct);
        return Encoding.UTF8.GetString(await direct.ReadSessionLogAsync(sessionId, Ct) ?? []);
    }
}
