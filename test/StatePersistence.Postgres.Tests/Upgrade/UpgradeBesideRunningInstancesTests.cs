using Npgsql;
using StatePersistence.Postgres.Schema;
using StatePersistence.Postgres.Tests.Support;
using static StatePersistence.Postgres.Tests.Upgrade.OlderSchema;

namespace StatePersistence.Postgres.Tests.Upgrade;

/// <summary>
/// The schema upgrade of a rolling upgrade: instances of the earlier build go on writing while one of this build
/// upgrades the schema. Their writes wait for the upgrade and none fails for it, whichever order they take the tables
/// in; and the upgrade runs to its end however long it takes, never cut off by the connection's Command Timeout.
/// </summary>
public sealed class UpgradeBesideRunningInstancesTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>
    /// A write in flight holds one table and takes the other once the upgrade waits: <c>items</c> then <c>changes</c>
    /// as earlier builds write, <c>changes</c> then <c>items</c> as this one does. The upgrade used to take
    /// <c>changes</c> (version 3) and then wait for <c>items</c> (version 4's index): with the earlier build's order
    /// PostgreSQL found a deadlock and aborted the write or the upgrade.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AWriteHoldingATableWhileTheUpgradeWaits_Commits_AndTheUpgradeCompletes(bool itemsFirst)
    {
        await using TestSchema schema = await CreateVersion2Async(Ct);
        string application = "sp-upgrade-" + schema.Name;
        await using NpgsqlDataSource upgrading = NpgsqlDataSource.Create(ConnectionString(application));

        await using NpgsqlConnection writer = await PostgresServer.DataSource.OpenConnectionAsync(Ct);
        await using NpgsqlTransaction transaction = await writer.BeginTransactionAsync(Ct);
        if (itemsFirst)
        {
            await WriteItemAsync(writer, transaction, schema.Name, "during", Ct);
        }
        else
        {
            await ExecuteOnAsync(writer, transaction, $"LOCK TABLE {schema.Name}.changes IN ROW EXCLUSIVE MODE");
        }

        Task<int> upgrade = Task.Run(() => PostgresSchema.EnsureAsync(upgrading, schema.Name, Ct), Ct);
        await WaitUntilWaitingForALockAsync(application, upgrade, Ct);

        if (itemsFirst)
        {
            await WriteChangeAsync(writer, transaction, schema.Name, "during", Ct);
        }
        else
        {
            await WriteItemAsync(writer, transaction, schema.Name, "during", Ct);
            await WriteChangeAsync(writer, transaction, schema.Name, "during", Ct);
        }

        await transaction.CommitAsync(Ct);
        Assert.Equal(2, await upgrade);
        Assert.Equal(PostgresSchema.CurrentVersion, await ScalarAsync($"SELECT max(version) FROM {schema.Name}.schema_version", Ct));
        Assert.Equal(2L, await ScalarAsync($"SELECT count(*) FROM {schema.Name}.changes WHERE id IN ('before', 'during')", Ct));
    }

    /// <summary>
    /// A step slower than the Command Timeout (here version 3's stamping of the change log, slowed by a trigger, as a
    /// large log makes it) completes: under the timeout the upgrade was rolled back at every start, for good.
    /// </summary>
    [Fact]
    public async Task AStepSlowerThanTheCommandTimeout_Completes()
    {
        await using TestSchema schema = await CreateVersion2Async(Ct);
        // The change the earlier build wrote, numbered as its reader would, so the step stamps it.
        await ExecuteAsync($"""
            UPDATE {schema.Name}.changes SET position = 1;
            CREATE FUNCTION {schema.Name}.slow_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(1.5); RETURN NEW; END $$;
            CREATE TRIGGER slow_row BEFORE UPDATE ON {schema.Name}.changes FOR EACH ROW EXECUTE FUNCTION {schema.Name}.slow_row();
            """, Ct);
        await using NpgsqlDataSource upgrading = NpgsqlDataSource.Create(ConnectionString("sp-slow-" + schema.Name, commandTimeoutSeconds: 1));

        Assert.Equal(2, await PostgresSchema.EnsureAsync(upgrading, schema.Name, Ct));
        Assert.Equal(PostgresSchema.CurrentVersion, await ScalarAsync($"SELECT max(version) FROM {schema.Name}.schema_version", Ct));
        Assert.Equal(0L, await ScalarAsync($"SELECT count(*) FROM {schema.Name}.changes WHERE numbered_at IS NULL", Ct));
    }

    /// <summary>An instance starting while another upgrades waits for it, however long, instead of failing at its Command Timeout.</summary>
    [Fact]
    public async Task AnInstanceStartingWhileAnotherUpgrades_WaitsPastItsCommandTimeout()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        string application = "sp-second-" + schema.Name;
        await using NpgsqlDataSource second = NpgsqlDataSource.Create(ConnectionString(application, commandTimeoutSeconds: 1));
        await using NpgsqlConnection first = await PostgresServer.DataSource.OpenConnectionAsync(Ct);
        await using NpgsqlTransaction upgrading = await first.BeginTransactionAsync(Ct);
        await using (var hold = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", first, upgrading))
        {
            hold.Parameters.AddWithValue("statepersistence.schema:" + schema.Name);
            await hold.ExecuteNonQueryAsync(Ct);
        }

        Task<int> starting = Task.Run(() => PostgresSchema.EnsureAsync(second, schema.Name, Ct), Ct);
        await WaitUntilWaitingForALockAsync(application, starting, Ct);
        // Longer than the second instance's Command Timeout: what it waits for is another instance's upgrade.
        await Task.Delay(TimeSpan.FromSeconds(2), Ct);
        await upgrading.RollbackAsync(Ct);

        Assert.Equal(0, await starting);
    }

    private static async Task ExecuteOnAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(Ct);
    }
}
