using Npgsql;
using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests.Failures;

/// <summary>
/// What an operator reads when the database fails: the cause, in one line, never Npgsql's pointer to an inner
/// exception. A statement held up past the Command Timeout by another session's lock is named as such (it was "cannot
/// be reached: Exception while reading from stream"), a multi-host string whose hosts all fail names each host's
/// failure, and the store's location names each host with its own port.
/// </summary>
public sealed class FailureMessagesTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AWriteAndTheHealthCheckHeldUpByALockPastTheCommandTimeout_SayThatAndNotUnreachable()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        string connectionString = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString) { CommandTimeout = 1 }.ConnectionString;
        await using var store = new PostgresStateStore(connectionString, schema.Name);
        await store.OpenAsync(Ct);

        await using NpgsqlConnection other = await PostgresServer.DataSource.OpenConnectionAsync(Ct);
        await using NpgsqlTransaction holding = await other.BeginTransactionAsync(Ct);
        await using (var hold = new NpgsqlCommand($"LOCK TABLE {schema.Name}.items IN ACCESS EXCLUSIVE MODE", other, holding))
        {
            await hold.ExecuteNonQueryAsync(Ct);
        }

        StateStorageException refused = await Assert.ThrowsAsync<StateStorageException>(async () =>
            await store.AppendAsync([[Store.Put("t", ExpectedRevision.Any)]], Durability.Full, Ct));
        StoreHealth health = store.CheckHealth();
        await holding.RollbackAsync(Ct);

        Assert.Contains("could not commit changes: no answer within the Command Timeout of 1 s (a lock held on the store's tables",
            refused.Message, StringComparison.Ordinal);
        Assert.True(refused.IsTransient);
        Assert.StartsWith($"The store '{store.Location}' could not be read: no answer within the Command Timeout of 1 s", health.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMultiHostStringWhoseHostsAllFail_NamesEachHostsFailure_AndItsLocationEachHostsPort()
    {
        string[] hosts = [$"127.0.0.1:{LocalPorts.Unused()}", $"127.0.0.1:{LocalPorts.Unused()}"];
        var builder = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString) { Host = string.Join(',', hosts), Password = "s3cret-not-shown" };
        await using var store = new PostgresStateStore(builder.ConnectionString, "multihost");
        Assert.Equal($"postgresql://{hosts[0]},{hosts[1]}/{builder.Database}#multihost", store.Location);

        StateStorageException refused = await Assert.ThrowsAsync<StateStorageException>(async () => await store.OpenAsync(Ct));

        Assert.All(hosts, host => Assert.Contains($"Failed to connect to {host} (", refused.Message, StringComparison.Ordinal));
        Assert.DoesNotContain("inner exception", refused.Message, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("s3cret-not-shown", refused.Message, StringComparison.Ordinal);
    }
}
