using System.Text.Json;
using Npgsql;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Postgres.Schema;
using StatePersistence.Postgres.Tests.Support;
using static StatePersistence.Postgres.Tests.Upgrade.OlderSchema;

namespace StatePersistence.Postgres.Tests.Upgrade;

/// <summary>
/// <c>statectl migrate status|apply --store postgres</c>, the real tool against the real database. Before, a
/// PostgreSQL schema was upgraded only by the first instance of a new build to start, and an operator could see its
/// version only with psql: a DBA upgrading with the owning role ahead of instances that run under a role that may only
/// use the tables had to start a server for it, and nobody could see an upgrade coming or running.
/// </summary>
public sealed class StatectlMigrateTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Dictionary<string, string> Environment(string? connectionString = null) =>
        new() { ["STATEPERSISTENCE_CONNECTION_STRING"] = connectionString ?? PostgresServer.ConnectionString };

    [Fact]
    public async Task Status_ShowsAnOlderSchemasHistoryAndPendingSteps_AndApplyUpgradesIt_ForAnInstanceToOpen()
    {
        await using TestSchema schema = await CreateVersion2Async(Ct);

        StatectlRun status = await MigrateAsync(schema.Name, "status", "--json");

        Assert.True(status.ExitCode == 0, status.ToString());
        JsonElement report = status.Json();
        Assert.Equal(2, report.GetProperty("schemaVersion").GetInt32());
        Assert.Equal(PostgresSchema.CurrentVersion, report.GetProperty("buildVersion").GetInt32());
        Assert.Equal([1, 2], report.GetProperty("applied").EnumerateArray().Select(a => a.GetProperty("version").GetInt32()));
        Assert.All(report.GetProperty("applied").EnumerateArray(), a => Assert.Equal(JsonValueKind.String, a.GetProperty("appliedAt").ValueKind));
        JsonElement[] pending = [.. report.GetProperty("pending").EnumerateArray()];
        Assert.Equal(Enumerable.Range(3, PostgresSchema.CurrentVersion - 2), pending.Select(p => p.GetProperty("version").GetInt32()));
        Assert.Equal(PostgresSchema.StepDescriptions.Skip(2), pending.Select(p => p.GetProperty("description").GetString()));
        Assert.Equal(JsonValueKind.Null, report.GetProperty("upgradingProcessId").ValueKind);
        Assert.Equal(2L, await ScalarAsync($"SELECT max(version) FROM {schema.Name}.schema_version", Ct));

        StatectlRun apply = await MigrateAsync(schema.Name, "apply");

        Assert.True(apply.ExitCode == 0, apply.ToString());
        Assert.Contains($"upgraded the schema from version 2 to {PostgresSchema.CurrentVersion}", apply.Output, StringComparison.Ordinal);
        Assert.Equal(PostgresSchema.CurrentVersion, await ScalarAsync($"SELECT max(version) FROM {schema.Name}.schema_version", Ct));
        await using (StatePersistenceService service = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: Ct))
        {
            Assert.Equal("d", (await service.LoadTaskAsync("before", Ct))!.Description);
        }

        StatectlRun again = await MigrateAsync(schema.Name, "apply", "--json");
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("nothing to do", again.Json().GetProperty("outcome").GetString(), StringComparison.Ordinal);
        Assert.Empty(again.Json().GetProperty("pending").EnumerateArray());
        Assert.DoesNotContain(PostgresServer.ConnectionString, status.ToString() + apply + again, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASchemaWithoutAStore_IsCreatedOnlyWhenAskedFor_AndRollbackIsRefusedSayingWhy()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();

        StatectlRun status = await MigrateAsync(schema.Name, "status");
        StatectlRun refused = await MigrateAsync(schema.Name, "apply");

        Assert.True(status.ExitCode == 1, status.ToString());
        Assert.Contains("none (no store in this schema)", status.Output, StringComparison.Ordinal);
        Assert.Contains("--create", status.Error, StringComparison.Ordinal);
        Assert.True(refused.ExitCode == 1, refused.ToString());
        Assert.Contains($"The PostgreSQL schema '{schema.Name}' at postgresql://", refused.Error, StringComparison.Ordinal);
        Assert.Contains("holds no StatePersistence store", refused.Error, StringComparison.Ordinal);
        // In statectl's terms, built from the refusal's data (PostgresStoreNotFoundException), not by rewriting the
        // library's words: before 2026-12-08 the library's note for its callers came along too.
        Assert.Contains("check the schema name (--schema or StatePersistence__Schema, default 'statepersistence')", refused.Error, StringComparison.Ordinal);
        Assert.Contains("run 'statectl migrate apply --store postgres --create'", refused.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("StatePersistence:Schema", refused.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("library:", refused.Error, StringComparison.Ordinal);
        Assert.Equal(0L, await ScalarAsync($"SELECT count(*) FROM pg_namespace WHERE nspname = '{schema.Name}'", Ct));

        StatectlRun created = await MigrateAsync(schema.Name, "apply", "--create");

        Assert.True(created.ExitCode == 0, created.ToString());
        Assert.Contains($"created the store's schema at version {PostgresSchema.CurrentVersion}", created.Output, StringComparison.Ordinal);
        Assert.Equal(PostgresSchema.CurrentVersion, await ScalarAsync($"SELECT max(version) FROM {schema.Name}.schema_version", Ct));

        StatectlRun rollback = await MigrateAsync(schema.Name, "rollback");
        Assert.True(rollback.ExitCode == 2, rollback.ToString());
        Assert.Contains("has no rollback", rollback.Error, StringComparison.Ordinal);
        Assert.Equal(PostgresSchema.CurrentVersion, await ScalarAsync($"SELECT max(version) FROM {schema.Name}.schema_version", Ct));

        StatectlRun createOnFiles = await StatectlRun.RunAsync(["migrate", "apply", "--create", "--state-path", Path.GetTempPath()]);
        Assert.True(createOnFiles.ExitCode == 2, createOnFiles.ToString());
        Assert.Contains("--create goes with --store postgres", createOnFiles.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_NamesTheBackendOfAnUpgradeRunningNow()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await PostgresSchema.EnsureAsync(PostgresServer.DataSource, schema.Name, Ct);
        await using NpgsqlConnection upgrading = await PostgresServer.DataSource.OpenConnectionAsync(Ct);
        await using NpgsqlTransaction transaction = await upgrading.BeginTransactionAsync(Ct);
        await using (var hold = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", upgrading, transaction))
        {
            hold.Parameters.AddWithValue(PostgresSchema.UpgradeLockKey(schema.Name));
            await hold.ExecuteNonQueryAsync(Ct);
        }

        StatectlRun during = await MigrateAsync(schema.Name, "status", "--json");
        await transaction.RollbackAsync(Ct);
        StatectlRun after = await MigrateAsync(schema.Name, "status", "--json");

        Assert.True(during.ExitCode == 0, during.ToString());
        Assert.Equal(upgrading.ProcessID, during.Json().GetProperty("upgradingProcessId").GetInt32());
        Assert.Equal(JsonValueKind.Null, after.Json().GetProperty("upgradingProcessId").ValueKind);
    }

    [Fact]
    public async Task ARoleThatMayNotUpgrade_IsRefusedSayingSo_AndASchemaOfANewerBuild_IsShownAndNeverTouched()
    {
        await using TestSchema older = await CreateVersion2Async(Ct);
        await using TestRole role = await TestRole.CreateAsync(older.Name, $"""
            GRANT USAGE ON SCHEMA {older.Name} TO ROLE_NAME;
            GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {older.Name} TO ROLE_NAME;
            """);

        StatectlRun refused = await MigrateAsync(older.Name, "apply", connectionString: role.ConnectionString);

        Assert.True(refused.ExitCode == 1, refused.ToString());
        Assert.Contains($"'{older.Name}' needs creating or upgrading to version {PostgresSchema.CurrentVersion}", refused.Error, StringComparison.Ordinal);
        Assert.Contains("statectl migrate apply --store postgres", refused.Error, StringComparison.Ordinal);
        Assert.Equal(2L, await ScalarAsync($"SELECT max(version) FROM {older.Name}.schema_version", Ct));

        await using TestSchema newer = await PostgresServer.NewSchemaAsync();
        await PostgresSchema.EnsureAsync(PostgresServer.DataSource, newer.Name, Ct);
        int future = PostgresSchema.CurrentVersion + 1;
        await ExecuteAsync($"INSERT INTO {newer.Name}.schema_version (version, description) VALUES ({future}, 'a step of a later build')", Ct);

        StatectlRun status = await MigrateAsync(newer.Name, "status", "--json");
        StatectlRun apply = await MigrateAsync(newer.Name, "apply");

        // Exit 1, as apply's refusal (before 2026-12-06 exit 0: a script checking the status went on to an apply refused).
        Assert.True(status.ExitCode == 1, status.ToString());
        Assert.Contains($"is at version {future}, written by a newer build than this one ({PostgresSchema.CurrentVersion})", status.Error, StringComparison.Ordinal);
        Assert.True(status.Json().GetProperty("newerThanBuild").GetBoolean());
        Assert.Empty(status.Json().GetProperty("pending").EnumerateArray());
        Assert.True(apply.ExitCode == 1, apply.ToString());
        Assert.Contains($"is at version {future}; this build knows versions up to {PostgresSchema.CurrentVersion}", apply.Error, StringComparison.Ordinal);
        Assert.Equal(future, await ScalarAsync($"SELECT max(version) FROM {newer.Name}.schema_version", Ct));
    }

    private static Task<StatectlRun> MigrateAsync(string schema, string subcommand, string? flag = null, string? connectionString = null) =>
        StatectlRun.RunAsync(["migrate", subcommand, .. flag is null ? Array.Empty<string>() : [flag], "--store", "postgres", "--schema", schema],
            environment: Environment(connectionString));
}
