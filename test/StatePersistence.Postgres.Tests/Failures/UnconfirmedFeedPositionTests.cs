using Npgsql;
using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests.Failures;

/// <summary>
/// The change feed's positions under a synchronous standby that never confirms (<c>synchronous_standby_names =
/// 'nobody'</c>, the Command Timeout of 1 s ending each wait): a numbering the standby did not confirm is on the primary
/// alone, and a failover to the standby numbers those changes again, or other changes at those positions. A reader that
/// had passed such a position then skips the changes renumbered at or below it, and an event id it handed out names
/// another change. So a reader (the follower, the event stream, <c>ReadChangesAsync</c>, a load) passes a position only
/// once a commit made after it was read is confirmed; until then its read fails, transient, naming the standby. Before
/// 2026-12-07 the positions were handed out at once: the reader's own numbering commit was not watched, and positions
/// another writer's unconfirmed commit gave were read like any other. The cluster is this class's own (the setting is
/// server-wide).
/// </summary>
public sealed class UnconfirmedFeedPositionTests(UnconfirmedStandbyCommitTests.Cluster cluster) : IClassFixture<UnconfirmedStandbyCommitTests.Cluster>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>
    /// A Relaxed save commits without a position; the reader numbers it, and the standby does not confirm that
    /// numbering: the read fails saying so (again while the standby stays silent), and once a commit is confirmed the
    /// change is delivered at the position the numbering gave it.
    /// </summary>
    [Fact]
    public async Task ANumberingTheStandbyDidNotConfirm_IsNotDelivered_UntilACommitIsConfirmed()
    {
        string schema = NewSchema();
        await using PostgresStateStore store = await OpenStoreAsync(schema);
        await store.AppendAsync([[Store.Put("t1", ExpectedRevision.Any, "one")]], Durability.Relaxed, Ct);

        Exception? failed;
        Exception? again;
        await cluster.RequireStandbyAsync();
        try
        {
            failed = await Record.ExceptionAsync(() => store.ReadChangesAsync(0, Ct).AsTask());
            again = await Record.ExceptionAsync(() => store.ReadChangesAsync(0, Ct).AsTask());
        }
        finally
        {
            await cluster.DropStandbyAsync();
        }

        StateStorageException refused = Assert.IsType<StateStorageException>(failed);
        Assert.Contains("the synchronous standby did not confirm the numbering", refused.Message, StringComparison.Ordinal);
        Assert.True(refused.IsTransient);
        // Nothing left to number: the positions the primary holds are still not confirmed.
        Assert.Contains("the synchronous standby did not confirm", Assert.IsType<StateStorageException>(again).Message, StringComparison.Ordinal);

        CommittedGroup group = Assert.Single(await store.ReadChangesAsync(0, Ct));
        Assert.Equal(1, group.Position);
        Assert.Equal("t1", Assert.Single(group.Changes).Id);
    }

    /// <summary>
    /// A full-durability save whose commit the standby did not confirm fails on its writer (outcome unknown), but its
    /// position is visible on the primary: another instance's reader does not pass it until a commit is confirmed.
    /// </summary>
    [Fact]
    public async Task APositionAnotherWriterCommittedUnconfirmed_IsNotDelivered_UntilACommitIsConfirmed()
    {
        string schema = NewSchema();
        await using PostgresStateStore writer = await OpenStoreAsync(schema);
        await using PostgresStateStore reader = await OpenStoreAsync(schema);

        Exception? written;
        Exception? read;
        await cluster.RequireStandbyAsync();
        try
        {
            written = await Record.ExceptionAsync(() => writer.AppendAsync([[Store.Put("t1", ExpectedRevision.Any, "one")]], Durability.Full, Ct).AsTask());
            read = await Record.ExceptionAsync(() => reader.ReadChangesAsync(0, Ct).AsTask());
        }
        finally
        {
            await cluster.DropStandbyAsync();
        }

        Assert.IsType<StateOutcomeUnknownException>(written);
        StateStorageException refused = Assert.IsType<StateStorageException>(read);
        Assert.Contains("the synchronous standby did not confirm", refused.Message, StringComparison.Ordinal);
        Assert.Contains("after position 0", refused.Message, StringComparison.Ordinal);
        Assert.True(refused.IsTransient);

        Assert.Equal(1, Assert.Single(await reader.ReadChangesAsync(0, Ct)).Position);
    }

    /// <summary>
    /// A store opened while the newest position is one the standby did not confirm: the load would follow on after it,
    /// so the open fails saying so, and succeeds at that position once a commit is confirmed.
    /// </summary>
    [Fact]
    public async Task AnOpen_WhileTheNewestPositionIsUnconfirmed_FailsUntilACommitIsConfirmed()
    {
        string schema = NewSchema();
        await using PostgresStateStore writer = await OpenStoreAsync(schema);

        Exception? opened;
        await cluster.RequireStandbyAsync();
        try
        {
            Assert.IsType<StateOutcomeUnknownException>(
                await Record.ExceptionAsync(() => writer.AppendAsync([[Store.Put("t1", ExpectedRevision.Any, "one")]], Durability.Full, Ct).AsTask()));
            opened = await Record.ExceptionAsync(async () =>
            {
                await using PostgresStateStore early = await OpenStoreAsync(schema);
            });
        }
        finally
        {
            await cluster.DropStandbyAsync();
        }

        StateStorageException refused = Assert.IsType<StateStorageException>(opened);
        Assert.Contains("the synchronous standby did not confirm", refused.Message, StringComparison.Ordinal);
        await using PostgresStateStore later = new(Connection(), schema);
        Assert.Equal(1, (await later.OpenAsync(Ct)).Position);
    }

    private static string NewSchema() => "t_" + Guid.NewGuid().ToString("N")[..16];

    private string Connection() => new NpgsqlConnectionStringBuilder(cluster.Server.ConnectionString) { CommandTimeout = 1 }.ConnectionString;

    private async Task<PostgresStateStore> OpenStoreAsync(string schema)
    {
        var store = new PostgresStateStore(Connection(), schema);
        try
        {
            await store.OpenAsync(Ct);
            return store;
        }
        catch
        {
            await store.DisposeAsync();
            throw;
        }
    }
}
