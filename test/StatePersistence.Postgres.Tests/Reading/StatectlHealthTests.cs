using System.Text.Json;
using Npgsql;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Model;
using StatePersistence.Postgres.Schema;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Postgres.Tests.Upgrade;

namespace StatePersistence.Postgres.Tests.Reading;

/// <summary>
/// <c>statectl health --store postgres</c>, the real tool against the real database: the store's health from outside its
/// instances. Before, an operator had each instance's <c>/health</c>, and with every instance down nothing but psql to
/// tell an unreachable database from a missing schema, a standby or an upgrade holding the tables.
/// </summary>
public sealed class StatectlHealthTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Dictionary<string, string> Environment(string? connectionString = null) =>
        new() { ["STATEPERSISTENCE_CONNECTION_STRING"] = connectionString ?? PostgresServer.ConnectionString };

    [Fact]
    public async Task AStoreInUse_IsHealthy_WithItsFiguresAndTheInstancesConnected_AndTheCheckChangesNothing()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        string instance = "sp-health-" + schema.Name;
        await using StatePersistenceService service = await PostgresStatePersistence.OpenAsync(
            OlderSchema.ConnectionString(instance), schema.Name, cancellationToken: Ct);
        for (int i = 0; i < 3; i++)
        {
            await service.SaveTaskAsync(new AgentTask { Id = $"t{i}", Description = "d", Status = "pending" }, Ct);
        }

        Assert.True(await service.CreateSessionAsync(new SessionInfo { Id = "s1", Type = "interactive", Status = "active" }, Ct));
        await service.AppendSessionLogAsync("s1", "a line\n", Ct);
        await service.SaveReportAsync("r1", JsonSerializer.SerializeToElement(new { ok = true }), Ct);
        long versions = await OlderSchema.ScalarAsync($"SELECT count(*) FROM {schema.Name}.schema_version", Ct);

        StatectlRun run = await HealthAsync(schema.Name, "--json");
        StatectlRun table = await HealthAsync(schema.Name);

        Assert.True(run.ExitCode == 0, run.ToString());
        JsonElement health = run.Json();
        Assert.Equal("Healthy", health.GetProperty("status").GetString());
        Assert.Empty(health.GetProperty("reasons").EnumerateArray());
        Assert.True(health.GetProperty("reachable").GetBoolean());
        Assert.False(health.GetProperty("standby").GetBoolean());
        Assert.Equal(PostgresSchema.CurrentVersion, health.GetProperty("schemaVersion").GetInt32());
        Assert.Equal([3L, 1L, 1L, 1L], new[] { "tasks", "sessions", "sessionLogs", "reports" }.Select(p => health.GetProperty(p).GetInt64()));
        Assert.True(health.GetProperty("changes").GetInt64() >= 4, run.Output);
        Assert.True(health.GetProperty("databaseBytes").GetInt64() > 0);
        Assert.InRange(health.GetProperty("connections").GetInt32(), 1, health.GetProperty("maxConnections").GetInt32());
        JsonElement client = Assert.Single(health.GetProperty("clients").EnumerateArray(), c => c.GetProperty("applicationName").GetString() == instance);
        Assert.True(client.GetProperty("connections").GetInt32() >= 1);
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains(instance, table.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(PostgresServer.ConnectionString, run.ToString() + table, StringComparison.Ordinal);
        Assert.Equal(versions, await OlderSchema.ScalarAsync($"SELECT count(*) FROM {schema.Name}.schema_version", Ct));
    }

    [Fact]
    public async Task NoStore_AndAnUnreachableDatabase_AreUnhealthy_NamingWhich_AndNothingIsCreated()
    {
        await using TestSchema empty = await PostgresServer.NewSchemaAsync();
        var closed = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString) { Port = LocalPorts.Unused(), Password = "not-shown-3f9a", Timeout = 3 };

        StatectlRun none = await HealthAsync(empty.Name, "--json");
        StatectlRun unreachable = await HealthAsync(empty.Name, "--json", closed.ConnectionString);

        Assert.True(none.ExitCode == 1, none.ToString());
        Assert.Equal("Unhealthy", none.Json().GetProperty("status").GetString());
        Assert.Contains($"The PostgreSQL schema '{empty.Name}'", none.Json().GetProperty("reasons")[0].GetString(), StringComparison.Ordinal);
        Assert.Contains("holds no StatePersistence store", none.Json().GetProperty("reasons")[0].GetString(), StringComparison.Ordinal);
        Assert.Equal(0L, await OlderSchema.ScalarAsync($"SELECT count(*) FROM pg_namespace WHERE nspname = '{empty.Name}'", Ct));
        Assert.True(unreachable.ExitCode == 1, unreachable.ToString());
        Assert.False(unreachable.Json().GetProperty("reachable").GetBoolean());
        Assert.Contains("cannot be reached", unreachable.Json().GetProperty("reasons")[0].GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("not-shown-3f9a", unreachable.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnOlderSchema_AndAnUpgradeRunningNow_AreDegraded_SayingWhatToDo()
    {
        await using TestSchema older = await OlderSchema.CreateVersion2Async(Ct);
        await using NpgsqlConnection upgrading = await PostgresServer.DataSource.OpenConnectionAsync(Ct);
        await using NpgsqlTransaction transaction = await upgrading.BeginTransactionAsync(Ct);
        await using (var hold = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", upgrading, transaction))
        {
            hold.Parameters.AddWithValue(PostgresSchema.UpgradeLockKey(older.Name));
            await hold.ExecuteNonQueryAsync(Ct);
        }

        StatectlRun run = await HealthAsync(older.Name, "--json");
        await transaction.RollbackAsync(Ct);

        Assert.True(run.ExitCode == 0, run.ToString());
        JsonElement health = run.Json();
        Assert.Equal("Degraded", health.GetProperty("status").GetString());
        Assert.Equal(2, health.GetProperty("schemaVersion").GetInt32());
        Assert.Equal(upgrading.ProcessID, health.GetProperty("upgradingProcessId").GetInt32());
        string[] reasons = [.. health.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()!)];
        Assert.Contains(reasons, r => r.Contains($"backend {upgrading.ProcessID} is creating or upgrading", StringComparison.Ordinal));
        Assert.Contains(reasons, r => r.Contains("at version 2; this build's is", StringComparison.Ordinal) && r.Contains("migrate apply", StringComparison.Ordinal));
        Assert.Equal(1L, health.GetProperty("tasks").GetInt64());
        Assert.Equal(2L, await OlderSchema.ScalarAsync($"SELECT max(version) FROM {older.Name}.schema_version", Ct));
    }

    /// <summary>
    /// Run under a role that may only use the tables (no <c>pg_read_all_stats</c>), the check counts and lists the
    /// connections of other roles too, those whose details PostgreSQL hides from it (their <c>backend_type</c> and
    /// address are null): listed by application, their address shown as hidden. Before, it counted only its own role's
    /// connections, so the share of <c>max_connections</c> in use, and the warning when near it, missed the rest.
    /// </summary>
    [Fact]
    public async Task UnderARoleThatSeesOnlyItsOwnSessions_OtherRolesConnectionsAreCountedAndListedAsHidden()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using TestRole role = await TestRole.TableUserOfACurrentSchemaAsync(schema.Name);
        string instance = "sp-health-other-role-" + schema.Name;
        await using StatePersistenceService service = await PostgresStatePersistence.OpenAsync(
            OlderSchema.ConnectionString(instance), schema.Name, cancellationToken: Ct);

        StatectlRun run = await HealthAsync(schema.Name, "--json", role.ConnectionString);

        Assert.True(run.ExitCode == 0, run.ToString());
        JsonElement health = run.Json();
        JsonElement client = Assert.Single(health.GetProperty("clients").EnumerateArray(), c => c.GetProperty("applicationName").GetString() == instance);
        Assert.Equal(PostgresClient.HiddenAddress, client.GetProperty("clientAddress").GetString());
        Assert.True(client.GetProperty("connections").GetInt32() >= 1);
        Assert.True(health.GetProperty("connections").GetInt32() >= 1 + client.GetProperty("connections").GetInt32(), run.Output);
    }

    private static Task<StatectlRun> HealthAsync(string schema, string? flag = null, string? connectionString = null) =>
        StatectlRun.RunAsync(["health", .. flag is null ? Array.Empty<string>() : [flag], "--store", "postgres", "--schema", schema],
            environment: Environment(connectionString));
}
