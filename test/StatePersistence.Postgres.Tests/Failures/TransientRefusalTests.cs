using Npgsql;
using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests.Failures;

/// <summary>
/// Two refusals of PostgreSQL's own that say "not now" rather than "never": a statement cancelled by the database's
/// <c>statement_timeout</c> (57014, a DBA's setting on the role or the database) and a write refused by a database in
/// read-only mode (25006: <c>default_transaction_read_only</c>, a standby reached during a failover, a provider's
/// read-only mode when its disk filled). Both are transient (the server's 503), as a Command Timeout and a lost
/// connection are; before 2026-12-07 they were not, so the server answered 500 and the core took them for a defect.
/// </summary>
public sealed class TransientRefusalTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AStatementCancelledByTheDatabasesStatementTimeout_IsTransient()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        string connectionString = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString) { Options = "-c statement_timeout=300" }.ConnectionString;
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
        await holding.RollbackAsync(Ct);

        Assert.Contains("could not commit changes: 57014:", refused.Message, StringComparison.Ordinal);
        Assert.True(refused.IsTransient);
    }

    [Fact]
    public async Task AWriteRefusedByADatabaseInReadOnlyMode_IsTransient()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using (var writable = new PostgresStateStore(PostgresServer.DataSource, schema.Name))
        {
            await writable.OpenAsync(Ct);
        }

        string connectionString = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString) { Options = "-c default_transaction_read_only=on" }.ConnectionString;
        await using var store = new PostgresStateStore(connectionString, schema.Name);
        await store.OpenAsync(Ct);

        StateStorageException refused = await Assert.ThrowsAsync<StateStorageException>(async () =>
            await store.AppendAsync([[Store.Put("t", ExpectedRevision.Any)]], Durability.Full, Ct));
        StateStorageException log = await Assert.ThrowsAsync<StateStorageException>(async () =>
            await store.AppendSessionLogAsync("s1", "text\n"u8.ToArray(), Durability.Full, Ct));

        Assert.Contains("could not commit changes: 25006:", refused.Message, StringComparison.Ordinal);
        Assert.True(refused.IsTransient);
        Assert.True(log.IsTransient);
    }
}
