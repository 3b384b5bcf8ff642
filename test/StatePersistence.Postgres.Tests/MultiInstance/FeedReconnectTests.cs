using Npgsql;
using StatePersistence.Diagnostics;
using StatePersistence.Model;
using StatePersistence.Postgres.Tests.Support;

namespace StatePersistence.Postgres.Tests.MultiInstance;

public sealed class FeedReconnectTests
{
    [Fact]
    public async Task InstanceWhoseConnectionsAreKilled_ReportsIt_AndCatchesUpFromTheLastPositionApplied()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        string applicationName = "sp_b_" + schema.Name;
        string connectionB = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString) { ApplicationName = applicationName }.ConnectionString;
        await using StatePersistenceService a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: ct);
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(connectionB, schema.Name, cancellationToken: ct);
        var feedFailed = new TaskCompletionSource<StateSaveErrorEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        b.StateSaveError += (_, e) =>
        {
            if (e.Operation == "follow-changes")
            {
                feedFailed.TrySetResult(e);
            }
        };
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bounded.CancelAfter(TimeSpan.FromMinutes(1));

        await a.SaveTaskAsync(new AgentTask { Id = "before", Description = "1", Status = "pending" }, ct);
        await b.WaitForTaskAsync("before", (await a.LoadTaskAsync("before", ct))!.Revision, bounded.Token);

        // What a restarted database or a dropped network does to B: every connection of B ends.
        await using (NpgsqlCommand kill = PostgresServer.DataSource.CreateCommand(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1"))
        {
            kill.Parameters.AddWithValue(applicationName);
            Assert.True((long)(await kill.ExecuteScalarAsync(ct))! >= 1);
        }

        await a.SaveTaskAsync(new AgentTask { Id = "after", Description = "2", Status = "pending" }, ct);
        long after = (await a.LoadTaskAsync("after", ct))!.Revision;

        StateSaveErrorEventArgs reported = await feedFailed.Task.WaitAsync(bounded.Token);
        // Named as B's store and what its reader was doing (listening, reading or waiting, wherever the kill found it).
        Errors.StateStorageException failure = Assert.IsType<Errors.StateStorageException>(reported.Error);
        Assert.StartsWith($"The store '{b.Location}' could not ", failure.Message, StringComparison.Ordinal);
        // The whole message on failure: Assert.Contains cuts it before the part that says what the reader was doing.
        Assert.True(failure.Message.Contains(" the change feed", StringComparison.Ordinal), failure.Message);
        Assert.IsAssignableFrom<NpgsqlException>(failure.InnerException);
        Assert.Equal("2", (await b.WaitForTaskAsync("after", after, bounded.Token))!.Description);
        Assert.Equal("1", (await b.LoadTaskAsync("before", ct))!.Description);
    }
}
