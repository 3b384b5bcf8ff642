using Npgsql;
using StatePersistence.Diagnostics;
using StatePersistence.Events;
using StatePersistence.Model;
using StatePersistence.Postgres.Changes;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Serialization;
using StatePersistence.Storage;
using ChangeFeed = StatePersistence.Postgres.Changes.ChangeFeed;

namespace StatePersistence.Postgres.Tests.Retention;

public sealed class FollowerBehindTheHorizonTests
{
    /// <summary>
    /// Instance B loses the database (its role may not log in, its connections are ended) while A updates, deletes and
    /// creates tasks and the log is pruned past B's place. When B can connect again its feed read finds the gap: B
    /// reports it, reloads the whole state, serves A's current data (the deleted task gone too), follows the feed on,
    /// and an event-stream reader resuming from before gets <c>reset</c>.
    /// </summary>
    [Fact]
    public async Task AFollowerStoppedPastTheHorizon_ReloadsAndServesCurrentData_AndItsEventReadersGetAReset()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        string role = "sp_b_" + schema.Name;
        await ExecuteAsync($"CREATE ROLE {role} LOGIN SUPERUSER", ct);
        try
        {
            string connectionB = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString) { Username = role, Pooling = true }.ConnectionString;
            await using StatePersistenceService a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
            await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(connectionB, schema.Name, cancellationToken: ct);
            var gapReported = new TaskCompletionSource<StateSaveErrorEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
            b.StateSaveError += (_, e) =>
            {
                if (e.Error is ChangeFeedGapException)
                {
                    gapReported.TrySetResult(e);
                }
            };
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
            bounded.CancelAfter(TimeSpan.FromMinutes(2));

            await a.SaveTaskAsync(NewTask("kept", "1"), ct);
            await a.SaveTaskAsync(NewTask("deleted", "1"), ct);
            await b.WaitForTaskAsync("deleted", (await a.LoadTaskAsync("deleted", ct))!.Revision, bounded.Token);
            StateEventPosition seenOnB = await LastChangeEventAsync(b, "deleted", bounded.Token);

            // B is cut off: its role may not log in, and its open connections end.
            await ExecuteAsync($"ALTER ROLE {role} NOLOGIN", ct);
            await ExecuteAsync($"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = '{role}'", ct);

            await a.SaveTaskAsync(NewTask("kept", "2"), ct);
            Assert.True(await a.DeleteTaskAsync("deleted", ct));
            await a.SaveTaskAsync(NewTask("created", "3"), ct);
            long created = (await a.LoadTaskAsync("created", ct))!.Revision;
            await new ChangeFeed(PostgresServer.DataSource, schema.Name, new ChangeRows(new StorePayloads(), schema.Name)).AssignPositionsAsync(ct);
            await new ChangePruner(PostgresServer.DataSource, schema.Name, TimeSpan.FromHours(1)).PruneAsync(TimeSpan.Zero, ct);
            // Everything but the newest group ('created'), which is past B's place too.
            Assert.Equal(1L, await ScalarAsync($"SELECT count(*) FROM {schema.Name}.changes", ct));

            await ExecuteAsync($"ALTER ROLE {role} LOGIN", ct);
            StateSaveErrorEventArgs reported = await gapReported.Task.WaitAsync(bounded.Token);
            Assert.Equal("follow-changes", reported.Operation);

            Assert.Equal("3", (await b.WaitForTaskAsync("created", created, bounded.Token))!.Description);
            Assert.Equal("2", (await b.LoadTaskAsync("kept", ct))!.Description);
            Assert.Null(await b.LoadTaskAsync("deleted", ct));

            await using IAsyncEnumerator<StateEvent> resumed = b.ReadEventsAsync(seenOnB, bounded.Token).GetAsyncEnumerator(bounded.Token);
            // B's state is replaced before its stream breaks (so a reader that reloads on the reset reads the new
            // state): events held from before may come first, then the reset.
            var beforeReset = new List<string>();
            while (await resumed.MoveNextAsync() && resumed.Current.Type != StateEventTypes.Reset)
            {
                beforeReset.Add(resumed.Current.Type);
            }

            Assert.Equal(StateEventTypes.Reset, resumed.Current.Type);
            Assert.DoesNotContain(StateEventTypes.TaskUpdated, beforeReset);
            Assert.DoesNotContain(StateEventTypes.TaskDeleted, beforeReset);

            // B follows the feed on from where the reload ended, its events continuing after the reset.
            await a.SaveTaskAsync(NewTask("after", "4"), ct);
            long after = (await a.LoadTaskAsync("after", ct))!.Revision;
            Assert.Equal("4", (await b.WaitForTaskAsync("after", after, bounded.Token))!.Description);
            while (await resumed.MoveNextAsync())
            {
                if (resumed.Current.Id == "after")
                {
                    Assert.Equal((StateEventTypes.TaskCreated, after), (resumed.Current.Type, resumed.Current.Revision));
                    break;
                }
            }
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync($"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = '{role}'", CancellationToken.None);
            await ExecuteAsync($"DROP ROLE IF EXISTS {role}", CancellationToken.None);
        }
    }

    private static AgentTask NewTask(string id, string description) => new() { Id = id, Description = description, Status = "pending" };

    /// <summary>The position of the change event of task <paramref name="id"/> in <paramref name="service"/>'s stream.</summary>
    private static async Task<StateEventPosition> LastChangeEventAsync(StatePersistenceService service, string id, CancellationToken cancellationToken)
    {
        await foreach (StateEvent item in service.ReadEventsAsync(new StateEventPosition("none", 0, 0), cancellationToken))
        {
            if (item.Type == StateEventTypes.Reset)
            {
                continue;
            }

            if (item.Id == id)
            {
                return item.Position;
            }
        }

        throw new InvalidOperationException("The stream ended.");
    }

    private static async Task ExecuteAsync(string sql, CancellationToken ct)
    {
        await using NpgsqlCommand command = PostgresServer.DataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task<long> ScalarAsync(string sql, CancellationToken ct)
    {
        await using NpgsqlCommand command = PostgresServer.DataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
    }
}
