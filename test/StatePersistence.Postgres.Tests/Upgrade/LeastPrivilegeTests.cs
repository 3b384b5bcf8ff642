using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Npgsql;
using StatePersistence.Errors;
using StatePersistence.Model;
using StatePersistence.Postgres.Schema;
using StatePersistence.Postgres.Tests.Support;
using static StatePersistence.Postgres.Tests.Upgrade.OlderSchema;

namespace StatePersistence.Postgres.Tests.Upgrade;

/// <summary>
/// The privileges an instance's role needs. A schema at this build's version takes none beyond reading and writing
/// its tables (a DBA creates and upgrades it, the application's role only uses it), and a role that owns a schema
/// created for it needs no CREATE on the database. An upgrade the role may not run is refused saying so.
/// </summary>
public sealed class LeastPrivilegeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ARoleThatMayOnlyReadAndWriteTheTables_OpensACurrentSchema_AndWrites()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using TestRole role = await TestRole.TableUserOfACurrentSchemaAsync(schema.Name);

        await using StatePersistenceService service = await PostgresStatePersistence.OpenAsync(role.ConnectionString, schema.Name, cancellationToken: Ct);
        await service.SaveTaskAsync(new AgentTask { Id = "t", Description = "d", Status = "pending" }, Ct);
        Assert.Equal("d", (await service.LoadTaskAsync("t", Ct))!.Description);
    }

    [Fact]
    public async Task ARoleThatOwnsTheSchemaButMayNotCreateSchemas_CreatesTheTablesInIt()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using TestRole role = await TestRole.CreateAsync(schema.Name, $"CREATE SCHEMA {schema.Name} AUTHORIZATION ROLE_NAME;");

        await using StatePersistenceService service = await PostgresStatePersistence.OpenAsync(role.ConnectionString, schema.Name, cancellationToken: Ct);
        Assert.Equal(PostgresSchema.CurrentVersion, await ScalarAsync($"SELECT max(version) FROM {schema.Name}.schema_version", Ct));
    }

    [Fact]
    public async Task ARoleThatMayNotUpgradeAnOlderSchema_IsRefusedSayingWhatItNeeds_AndTheSchemaIsLeftAsItWas()
    {
        await using TestSchema schema = await CreateVersion2Async(Ct);
        await using TestRole role = await TestRole.CreateAsync(schema.Name, $"""
            GRANT USAGE ON SCHEMA {schema.Name} TO ROLE_NAME;
            GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema.Name} TO ROLE_NAME;
            """);

        StateStorageException refused = await Assert.ThrowsAsync<StateStorageException>(async () =>
            await PostgresStatePersistence.OpenAsync(role.ConnectionString, schema.Name, cancellationToken: Ct));

        Assert.Contains($"'{schema.Name}' needs creating or upgrading to version {PostgresSchema.CurrentVersion}", refused.Message, StringComparison.Ordinal);
        Assert.Contains("42501", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', refused.Message);
        Assert.Equal(2L, await ScalarAsync($"SELECT max(version) FROM {schema.Name}.schema_version", Ct));
    }

    [Fact]
    public async Task ARoleGrantedTheTablesBeforeTheSessionLogSizesExisted_StillAppendsAndSizesLogs_AfterTheUpgrade()
    {
        // Version 4, as a DBA left it with the grants of the time; then the DBA's upgrade adds session_log_sizes.
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using TestRole role = await GrantedBeforeTheUpgradeAsync(schema.Name, OlderSchema.DropVersion5(schema.Name), version: 4);

        await using StatePersistenceService service = await PostgresStatePersistence.OpenAsync(role.ConnectionString, schema.Name, cancellationToken: Ct);
        await service.AppendSessionLogAsync("s1", "first\n", Ct);
        await service.AppendSessionLogAsync("s1", "second\n", Ct);

        long stored = await ScalarAsync($"SELECT sum(octet_length(payload)) FROM {schema.Name}.session_logs WHERE session_id = 's1'", Ct);
        Assert.Equal(stored, await service.SessionLogSizeAsync("s1", Ct));
        Assert.Equal("first\nsecond\n", await service.ReadSessionLogAsync("s1", Ct));
    }

    [Fact]
    public async Task ARoleGrantedTheTablesBeforeTheReportCountersExisted_StillSavesListsAndCountsReports_AfterTheUpgrade()
    {
        // Version 5, as a DBA left it with the grants of the time; then the DBA's upgrade adds report_counts.
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using TestRole role = await GrantedBeforeTheUpgradeAsync(schema.Name, OlderSchema.DropVersion6(schema.Name), version: 5);

        await using StatePersistenceService service = await PostgresStatePersistence.OpenAsync(role.ConnectionString, schema.Name, cancellationToken: Ct);
        await service.SaveReportAsync("r2", System.Text.Json.JsonDocument.Parse("{}").RootElement, Ct);
        await service.SaveReportAsync("r1", System.Text.Json.JsonDocument.Parse("{}").RootElement, Ct);

        Assert.Equal(2, await service.CountReportsAsync(Ct));
        Assert.Equal(["r2"], await service.ListReportsAsync("r1", 10, Ct));
    }

    [Fact]
    public async Task ARoleGrantedTheTablesBeforeTheSessionLogPartsExisted_StillRunsTheRetentionPass_AfterTheUpgrade()
    {
        // Version 6, as a DBA left it with the grants of the time; then the DBA's upgrade adds session_log_parts.
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using TestRole role = await GrantedBeforeTheUpgradeAsync(schema.Name, OlderSchema.DropVersion7(schema.Name), version: 6);
        var options = new StatePersistenceOptions();
        options.Retention.Interval = TimeSpan.Zero;
        options.Retention.SessionLogMaxBytes = 10;
        options.Retention.ReportMaxAge = TimeSpan.FromDays(1);

        await using StatePersistenceService service = await PostgresStatePersistence.OpenAsync(role.ConnectionString, schema.Name, options, cancellationToken: Ct);
        await service.AppendSessionLogAsync("s1", "past the cap\n", Ct);
        await service.SaveReportAsync("old", System.Text.Json.JsonDocument.Parse("""{"created_at":"2020-01-01T00:00:00Z"}""").RootElement, Ct);
        await service.RunRetentionOnceAsync(Ct);
        await service.AppendSessionLogAsync("s1", "next\n", Ct);
        await service.RunRetentionOnceAsync(Ct);

        Assert.Equal("next\n", await service.ReadSessionLogAsync("s1", Ct)); // part 1, the first append, dropped by the second rotation
        Assert.Empty(await service.ListReportsAsync(Ct));
    }

    [Fact]
    public async Task ARoleGrantedTheTablesBeforeTheTaskArchivesExisted_ArchivesAndRestoresTasks_AfterTheUpgrade()
    {
        // Version 7, as a DBA left it with the grants of the time; then the DBA's upgrade adds task_archives, granting it
        // to the roles granted items (else the retention pass of every instance failed with 42501 until a DBA noticed).
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using TestRole role = await GrantedBeforeTheUpgradeAsync(schema.Name, OlderSchema.DropVersion8(schema.Name), version: 7);

        await using StatePersistenceService service = await PostgresStatePersistence.OpenAsync(role.ConnectionString, schema.Name, cancellationToken: Ct);
        await service.SaveTaskAsync(new AgentTask { Id = "done", Description = "d", Status = "completed", CompletedAt = DateTimeOffset.UtcNow.AddDays(-40) }, Ct);
        FileStore.Operations.TaskArchiveResult archived = await FileStore.Operations.TaskArchives.ArchiveAsync(service, DateTimeOffset.UtcNow.AddDays(-30), cancellationToken: Ct);
        Assert.Equal(["done"], archived.Tasks);
        Assert.Null(await service.LoadTaskAsync("done", Ct));

        await FileStore.Operations.TaskArchives.RestoreAsync(service, Path.GetFileName(archived.Archive!), Ct);
        Assert.Equal("d", (await service.LoadTaskAsync("done", Ct))!.Description);
    }

    [Fact]
    public async Task ARoleGrantedTheTablesBeforeTheDamagedReportMarksExisted_HasADamagedReportReportedOnce_AfterTheUpgrade()
    {
        // Version 8, as a DBA left it with the grants of the time; the upgrade adds damaged_reports, which the role may
        // not touch: the pass marks through mark_damaged_report, which runs as the schema's owner.
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using TestRole role = await GrantedBeforeTheUpgradeAsync(schema.Name, OlderSchema.DropVersion9(schema.Name), version: 8);
        var options = new StatePersistenceOptions();
        options.Retention.Interval = TimeSpan.Zero;
        options.Retention.ReportMaxAge = TimeSpan.FromDays(1);
        await using StatePersistenceService service = await PostgresStatePersistence.OpenAsync(role.ConnectionString, schema.Name, options, cancellationToken: Ct);
        await service.SaveReportAsync("old", System.Text.Json.JsonDocument.Parse("""{"created_at":"2020-01-01T00:00:00Z"}""").RootElement, Ct);
        await ExecuteAsync($"UPDATE {schema.Name}.reports SET payload = substring(payload FROM 1 FOR octet_length(payload) - 1) WHERE id = 'old'", Ct);
        var reported = new List<Diagnostics.StateSaveErrorEventArgs>();
        service.StateSaveError += (_, e) => reported.Add(e);

        await service.RunRetentionOnceAsync(Ct);
        await service.RunRetentionOnceAsync(Ct);

        Assert.Contains("marked in", Assert.IsType<StateStorageException>(Assert.Single(reported).Error).Message, StringComparison.Ordinal);
        Assert.Equal(["old"], await service.ListReportsAsync(Ct));
    }

    /// <summary>
    /// A role that may only use the tables cannot see another role's session details in <c>pg_stat_activity</c> (its
    /// address and start are null): a run that finds the archive lock held by such a session still names the holder it
    /// can see, waits its turn and archives. Before, reading the null start threw <c>InvalidCastException</c>, which
    /// failed every archive run of the instance while an operator's run under another role held the lock.
    /// </summary>
    [Fact]
    public async Task ARoleThatCannotSeeTheLockHoldersSession_NamesTheHolderItCanSee_AndArchivesInItsTurn()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using TestRole role = await TestRole.TableUserOfACurrentSchemaAsync(schema.Name);
        var logs = new FakeLogCollector();
        using ILoggerFactory loggers = LoggerFactory.Create(builder => builder.AddProvider(new FakeLoggerProvider(logs)));
        await using StatePersistenceService service = await PostgresStatePersistence.OpenAsync(role.ConnectionString, schema.Name, loggerFactory: loggers,
            cancellationToken: Ct);
        await service.SaveTaskAsync(new AgentTask { Id = "done", Description = "d", Status = "completed", CompletedAt = DateTimeOffset.UtcNow.AddDays(-40) }, Ct);

        // The lock held by the test's own role (another role than the instance's), as an operator's statectl would.
        string key = PostgresStateStore.ArchiveRunLockKey(schema.Name);
        await using NpgsqlConnection holder = await PostgresServer.DataSource.OpenConnectionAsync(Ct);
        await using (var take = new NpgsqlCommand("SELECT pg_advisory_lock(hashtextextended($1, 0))", holder))
        {
            take.Parameters.AddWithValue(key);
            await take.ExecuteNonQueryAsync(Ct);
        }

        Task<FileStore.Operations.TaskArchiveResult> run = Task.Run(() =>
            FileStore.Operations.TaskArchives.ArchiveAsync(service, DateTimeOffset.UtcNow.AddDays(-30), cancellationToken: Ct), Ct);
        for (int attempt = 0; attempt < 1500 && !run.IsCompleted && !logs.GetSnapshot().Any(r => r.Id.Id == 75); attempt++)
        {
            await Task.Delay(20, Ct);
        }

        Assert.False(run.IsCompleted, run.Exception?.ToString() ?? "the run did not wait for the lock");
        string waiting = Assert.Single(logs.GetSnapshot(), r => r.Id.Id == 75).Message;
        Assert.Contains($"held by PostgreSQL backend {holder.ProcessID} of role '", waiting, StringComparison.Ordinal);
        await using (var release = new NpgsqlCommand("SELECT pg_advisory_unlock(hashtextextended($1, 0))", holder))
        {
            release.Parameters.AddWithValue(key);
            await release.ExecuteNonQueryAsync(Ct);
        }

        Assert.Equal(["done"], (await run).Tasks);
    }

    /// <summary>
    /// <paramref name="schema"/> put back to <paramref name="version"/> (<paramref name="dropNewer"/> takes the later
    /// objects away), a role granted its tables and sequences as they were then, and the schema upgraded after that by
    /// its owner: the role holds no grant on anything the upgrade added.
    /// </summary>
    private static async Task<TestRole> GrantedBeforeTheUpgradeAsync(string schema, string dropNewer, int version)
    {
        await PostgresSchema.EnsureAsync(PostgresServer.DataSource, schema, Ct);
        await ExecuteAsync($"""
            {dropNewer}
            DELETE FROM {schema}.schema_version WHERE version > {version};
            """, Ct);
        TestRole role = await TestRole.CreateAsync(schema, $"""
            GRANT USAGE ON SCHEMA {schema} TO ROLE_NAME;
            GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO ROLE_NAME;
            GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO ROLE_NAME;
            """);
        await PostgresSchema.EnsureAsync(PostgresServer.DataSource, schema, Ct);
        return role;
    }
}
