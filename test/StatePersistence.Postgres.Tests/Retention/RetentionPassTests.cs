using System.Diagnostics.Metrics;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using StatePersistence.Diagnostics;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Retention;
using StatePersistence.Serialization;
using StatePersistence.Storage;
using static StatePersistence.Postgres.Tests.Upgrade.OlderSchema;

namespace StatePersistence.Postgres.Tests.Retention;

/// <summary>
/// The retention policy on PostgreSQL (schema version 7): the pass caps session logs and expires reports in the
/// tables, on every instance at once without doing anything twice; a task archive, which needs the file store's
/// directory, is said not to apply.
/// </summary>
public sealed class RetentionPassTests : IDisposable
{
    private readonly ServiceProvider _meters = new ServiceCollection().AddMetrics().BuildServiceProvider();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private IMeterFactory Meters => _meters.GetRequiredService<IMeterFactory>();

    public void Dispose() => _meters.Dispose();

    [Fact]
    public async Task ThePass_RotatesLogsAndExpiresReports_InTheTables_CountingWhatItFreed()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        using var rotated = new MetricCollector<long>(Meters, StateMeter.Name, "statepersistence.retention.session_logs.rotated");
        using var expired = new MetricCollector<long>(Meters, StateMeter.Name, "statepersistence.retention.reports.expired");
        await using StatePersistenceService service = await OpenAsync(schema.Name, r =>
        {
            r.ReportMaxAge = TimeSpan.FromDays(7);
            r.SessionLogMaxBytes = 100;
            r.SessionLogRotatedParts = 1;
        });
        await service.SaveReportAsync("old", Json("""{"created_at":"2020-01-01T00:00:00Z"}"""), Ct);
        await service.SaveReportAsync("recent", Json($$"""{"created_at":"{{DateTimeOffset.UtcNow:O}}"}"""), Ct);
        await service.SaveReportAsync("undated", Json("{}"), Ct);
        for (int i = 0; i < 3; i++)
        {
            await service.AppendSessionLogAsync("big", new string('a', 49) + "\n", Ct); // 150 bytes of text: past the cap
        }

        await service.AppendSessionLogAsync("small", "within the cap\n", Ct);

        await service.RunRetentionOnceAsync(Ct);

        Assert.Equal(["recent", "undated"], await service.ListReportsAsync(Ct));
        Assert.Equal(1, Assert.Single(expired.GetMeasurementSnapshot()).Value);
        Assert.Equal("rotated", Assert.Single(rotated.GetMeasurementSnapshot()).Tags["mode"]);
        Assert.Equal(1, await ScalarAsync($"SELECT count(*) FROM {schema.Name}.session_log_parts WHERE session_id = 'big'", Ct));

        // Part 1 is served before the live log; the next rotation drops it (one part kept).
        await service.AppendSessionLogAsync("big", new string('b', 99) + "\n", Ct);
        await service.AppendSessionLogAsync("big", new string('c', 9) + "\n", Ct);
        Assert.Equal(new string('a', 49) + "\n" + new string('a', 49) + "\n" + new string('a', 49) + "\n" + new string('b', 99) + "\n" + new string('c', 9) + "\n",
            await service.ReadSessionLogAsync("big", Ct));
        long before = await service.SessionLogSizeAsync("big", Ct);
        await service.RunRetentionOnceAsync(Ct);
        Assert.Equal(new string('b', 99) + "\n" + new string('c', 9) + "\n", await service.ReadSessionLogAsync("big", Ct));
        // b and c are part 1 now and the a's are gone: the live log, what the quota measures, is empty, and the rows
        // hold what the live log held before.
        Assert.Equal(0, await service.SessionLogSizeAsync("big", Ct));
        Assert.Equal(before, await ScalarAsync($"SELECT sum(octet_length(payload)) FROM {schema.Name}.session_logs WHERE session_id = 'big'", Ct));
        Assert.Equal("within the cap\n", await service.ReadSessionLogAsync("small", Ct));
    }

    [Fact]
    public async Task RowsOfAPart_ResealedOrInsertedLate_LeaveTheLiveSizeTrue()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using StatePersistenceService service = await OpenAsync(schema.Name, r => { r.SessionLogMaxBytes = 10; r.SessionLogRotatedParts = 2; });
        await service.AppendSessionLogAsync("s1", "first\n", Ct);
        await service.AppendSessionLogAsync("s1", "second\n", Ct);
        await service.RunRetentionOnceAsync(Ct);
        Assert.Equal(0, await service.SessionLogSizeAsync("s1", Ct));

        // A re-encryption that reseals the part's rows grows them (enabling encryption adds an envelope to each): the
        // live log, still empty, must not look larger, or the quota would refuse appends the cap never rotates away.
        await ExecuteAsync($"UPDATE {schema.Name}.session_logs SET payload = payload || '\\x0000000000'::bytea WHERE session_id = 's1'", Ct);
        Assert.Equal(0, await service.SessionLogSizeAsync("s1", Ct));

        // An append that took its segment before the rotation and inserts after it belongs to the part, too.
        await ExecuteAsync($"""
            INSERT INTO {schema.Name}.session_logs (session_id, segment, payload)
            SELECT session_id, segment - 1, payload FROM {schema.Name}.session_logs WHERE session_id = 's1' ORDER BY segment LIMIT 1
            """, Ct);
        Assert.Equal(0, await service.SessionLogSizeAsync("s1", Ct));

        await service.AppendSessionLogAsync("s1", "live\n", Ct);
        Assert.Equal(await ScalarAsync($"SELECT octet_length(payload) FROM {schema.Name}.session_logs WHERE session_id = 's1' ORDER BY segment DESC LIMIT 1", Ct),
            await service.SessionLogSizeAsync("s1", Ct));
    }

    [Fact]
    public async Task TwoInstancesRunningThePassAtOnce_CapEachLogOnce()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        using var rotated = new MetricCollector<long>(Meters, StateMeter.Name, "statepersistence.retention.session_logs.rotated");
        using var failures = new MetricCollector<long>(Meters, StateMeter.Name, "statepersistence.save.failures");
        Action<RetentionOptions> policy = r => { r.SessionLogMaxBytes = 50; r.SessionLogRotatedParts = 3; };
        await using StatePersistenceService a = await OpenAsync(schema.Name, policy);
        await using StatePersistenceService b = await OpenAsync(schema.Name, policy);
        string[] sessions = [.. Enumerable.Range(0, 40).Select(i => $"s{i:D2}")];
        foreach (string session in sessions)
        {
            await a.AppendSessionLogAsync(session, new string('x', 99) + "\n", Ct);
        }

        await Task.WhenAll(a.RunRetentionOnceAsync(Ct), b.RunRetentionOnceAsync(Ct), a.RunRetentionOnceAsync(Ct), b.RunRetentionOnceAsync(Ct));

        Assert.Empty(failures.GetMeasurementSnapshot());
        Assert.Equal(sessions.Length, rotated.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(sessions.Length, await ScalarAsync($"SELECT count(*) FROM {schema.Name}.session_log_parts", Ct));
        foreach (string session in sessions)
        {
            Assert.Equal(new string('x', 99) + "\n", await b.ReadSessionLogAsync(session, Ct));
        }
    }

    [Fact]
    public async Task OnePassPerInterval_IsClaimedAcrossInstances()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using (PostgresStateStore first = await OpenStoreAsync(schema.Name))
        await using (PostgresStateStore second = await OpenStoreAsync(schema.Name))
        {
            TimeSpan hour = TimeSpan.FromHours(1);

            bool[] claims = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => (i % 2 == 0 ? first : second).ClaimPassAsync(hour, Ct).AsTask()));

            Assert.Single(claims, claimed => claimed);
            Assert.False(await first.ClaimPassAsync(hour, Ct));
            Assert.True(await second.ClaimPassAsync(TimeSpan.Zero, Ct)); // no interval: every pass runs

            // An hour on (the claim set back), the next claim is taken, once.
            await ExecuteAsync($"UPDATE {schema.Name}.retention_passes SET started_at = started_at - interval '61 minutes'", Ct);
            Assert.True(await second.ClaimPassAsync(hour, Ct));
            Assert.False(await first.ClaimPassAsync(hour, Ct));
        }
    }

    [Fact]
    public async Task APassAnotherInstanceClaimed_IsSkipped_SayingSo_AndRunsOnceTheIntervalIsOver()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        TimeSpan hour = TimeSpan.FromHours(1);
        await using (PostgresStateStore other = await OpenStoreAsync(schema.Name))
        {
            Assert.True(await other.ClaimPassAsync(hour, Ct));
        }

        var logs = new FakeLogCollector();
        using ILoggerFactory loggers = LoggerFactory.Create(builder => builder.SetMinimumLevel(LogLevel.Debug).AddProvider(new FakeLoggerProvider(logs)));
        var options = new StatePersistenceOptions();
        options.Retention.Interval = hour; // the timer's own pass at start is skipped too
        options.Retention.ReportMaxAge = TimeSpan.FromDays(1);
        await using StatePersistenceService service = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, options,
            loggerFactory: loggers, cancellationToken: Ct);
        await service.SaveReportAsync("old", Json("""{"created_at":"2020-01-01T00:00:00Z"}"""), Ct);

        // The timer's pass at start runs on the thread pool: wait for it to be skipped, or on a slow machine it could
        // come after the claim is set back below, take that claim itself and leave the explicit pass nothing to run.
        await Eventually.UntilAsync(() => Skipped(logs) == 1);
        await service.RunRetentionOnceAsync(Ct);
        Assert.Equal(["old"], await service.ListReportsAsync(Ct));
        Assert.Equal(2, Skipped(logs));

        await ExecuteAsync($"UPDATE {schema.Name}.retention_passes SET started_at = started_at - interval '61 minutes'", Ct);
        await service.RunRetentionOnceAsync(Ct);
        Assert.Empty(await service.ListReportsAsync(Ct));
    }

    private static int Skipped(FakeLogCollector logs) =>
        logs.GetSnapshot().Count(r => r.Id.Id == 74 && r.Message.Contains("left to another instance", StringComparison.Ordinal));

    [Fact]
    public async Task AReportSavedAgainBetweenTheReadAndTheDelete_IsKept_AsSaved()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using (PostgresStateStore store = await OpenStoreAsync(schema.Name))
        await using (PostgresStateStore other = await OpenStoreAsync(schema.Name))
        {
            await store.SaveReportAsync("r", """{"created_at":"2020-01-01T00:00:00Z"}"""u8.ToArray(), Durability.Full, Ct);

            // Judged expired from the copy read; another instance saves it again before the delete.
            long? freed = await store.ExpireReportAsync("r", json =>
            {
                other.SaveReportAsync("r", """{"created_at":"2030-01-01T00:00:00Z"}"""u8.ToArray(), Durability.Full, Ct).AsTask().GetAwaiter().GetResult();
                return true;
            }, Durability.Full, Ct);

            Assert.Null(freed);
            Assert.Equal("""{"created_at":"2030-01-01T00:00:00Z"}""", Encoding.UTF8.GetString((await store.LoadReportAsync("r", Ct))!));
            Assert.Equal(1, await store.CountReportsAsync(Ct));
        }
    }

    [Fact]
    public async Task ATaskArchiveInThePolicy_Applies_WithNoWarningAtStart()
    {
        // Before schema version 8 the task archive was a file beside the file store's state only: PostgreSQL said so at
        // start (event 73) and kept its finished tasks. It keeps archives in task_archives now (TaskArchiveOnPostgresTests).
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        var logs = new FakeLogCollector();
        using ILoggerFactory loggers = LoggerFactory.Create(builder => builder.AddProvider(new FakeLoggerProvider(logs)));
        var options = new StatePersistenceOptions();
        options.Retention.TaskArchiveAfter = TimeSpan.FromDays(30);
        options.Retention.ReportMaxAge = TimeSpan.FromDays(7);
        await using StatePersistenceService service = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, options,
            loggerFactory: loggers, cancellationToken: Ct);

        Assert.DoesNotContain(logs.GetSnapshot(), r => r.Id.Id is 73 or 71);
    }

    private async Task<StatePersistenceService> OpenAsync(string schema, Action<RetentionOptions> policy)
    {
        var options = new StatePersistenceOptions();
        options.Retention.Interval = TimeSpan.Zero; // no background pass: each test runs it when it says
        policy(options.Retention);
        return await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema, options, meterFactory: Meters, cancellationToken: Ct);
    }

    /// <summary>A store over <paramref name="schema"/>, opened: one instance, below the service.</summary>
    private static async Task<PostgresStateStore> OpenStoreAsync(string schema)
    {
        var store = new PostgresStateStore(PostgresServer.DataSource, schema, IdentityCodec.Instance);
        await store.OpenAsync(Ct);
        return store;
    }

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();
}
