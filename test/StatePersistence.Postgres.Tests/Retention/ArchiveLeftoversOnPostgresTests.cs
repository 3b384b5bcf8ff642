using System.Text.Json;
using Npgsql;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Model;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Postgres.Tests.Upgrade;

namespace StatePersistence.Postgres.Tests.Retention;

/// <summary>
/// <c>statectl archive --store postgres</c> cut short after its delete commit (here: the removal of the log it took
/// along fails) leaves the tasks gone and their logs and reports live; the next run removes them, as the cut-short run
/// would have. Before, it said "Nothing to archive" and they stayed for ever. A task restored and changed since, which
/// the run does not load (it loads only the tasks it may choose), keeps what it took along.
/// </summary>
public sealed class ArchiveLeftoversOnPostgresTests
{
    private static readonly DateTimeOffset LongAgo = DateTimeOffset.UtcNow.AddDays(-40);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ARunCutShortAfterItsDeleteCommit_IsFinishedByTheNextRun()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await SeedAsync(schema.Name);

        // A role that may do everything but delete a session log: the archive and the delete commit go through, the
        // removal of the log (and so of the report after it) fails.
        await using TestRole role = await TestRole.CreateAsync(schema.Name, $"""
            GRANT USAGE ON SCHEMA {schema.Name} TO ROLE_NAME;
            GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema.Name} TO ROLE_NAME;
            GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema.Name} TO ROLE_NAME;
            REVOKE DELETE ON {schema.Name}.session_logs FROM ROLE_NAME;
            """);
        StatectlRun cut = await StatectlAsync(schema.Name, ["archive", "--completed-before", "2100-01-01", "--with-logs"], role.ConnectionString);
        Assert.True(cut.ExitCode == 1, cut.ToString());
        Assert.Equal(0L, await CountAsync($"SELECT count(*) FROM {schema.Name}.items WHERE kind = 'task'"));
        Assert.Equal(1L, await CountAsync($"SELECT count(*) FROM {schema.Name}.session_logs"));
        Assert.Equal(1L, await CountAsync($"SELECT count(*) FROM {schema.Name}.reports"));

        StatectlRun finished = await StatectlAsync(schema.Name, ["archive", "--completed-before", "2100-01-01", "--with-logs", "--json"], null);
        StatectlRun after = await StatectlAsync(schema.Name, ["archive", "--completed-before", "2100-01-01", "--with-logs", "--json"], null);

        Assert.True(finished.ExitCode == 0, finished.ToString());
        JsonElement report = finished.Json();
        Assert.False(report.GetProperty("nothingToArchive").GetBoolean());
        Assert.Equal(JsonValueKind.Null, report.GetProperty("archive").ValueKind);
        Assert.Equal((1, 1), (report.GetProperty("logs").GetInt32(), report.GetProperty("reports").GetInt32()));
        Assert.Single(report.GetProperty("earlierArchives").EnumerateArray());
        Assert.Empty(report.GetProperty("leftLive").EnumerateArray());
        Assert.Equal(0L, await CountAsync($"SELECT count(*) FROM {schema.Name}.session_logs"));
        Assert.Equal(0L, await CountAsync($"SELECT count(*) FROM {schema.Name}.reports"));
        Assert.True(after.Json().GetProperty("nothingToArchive").GetBoolean(), after.ToString());
    }

    [Fact]
    public async Task ATaskRestoredAndChangedSince_WhichTheRunDoesNotLoad_KeepsItsLogAndReport()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await SeedAsync(schema.Name);
        StatectlRun archived = await StatectlAsync(schema.Name, ["archive", "--completed-before", "2100-01-01", "--with-logs", "--json"], null);
        Assert.True(archived.ExitCode == 0, archived.ToString());
        string name = archived.Json().GetProperty("archive").GetString()!.Split('/')[^1];
        StatectlRun restored = await StatectlAsync(schema.Name, ["archive", "restore", name], null);
        Assert.True(restored.ExitCode == 0, restored.ToString());
        await using (StatePersistenceService writer = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: Ct))
        {
            AgentTask task = (await writer.LoadTaskAsync("done", Ct))!;
            task.Status = TaskStatuses.Pending;
            task.CompletedAt = null;
            await writer.SaveTaskAsync(task, Ct);
        }

        StatectlRun run = await StatectlAsync(schema.Name, ["archive", "--completed-before", "2100-01-01", "--with-logs", "--json"], null);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.True(run.Json().GetProperty("nothingToArchive").GetBoolean(), run.ToString());
        Assert.Equal(1L, await CountAsync($"SELECT count(*) FROM {schema.Name}.session_logs"));
        Assert.Equal(1L, await CountAsync($"SELECT count(*) FROM {schema.Name}.reports"));
    }

    /// <summary>A task finished long ago, with a session's log and a report.</summary>
    private static async Task SeedAsync(string schema)
    {
        await using StatePersistenceService writer = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema, cancellationToken: Ct);
        await writer.SaveTaskAsync(new AgentTask { Id = "done", Description = "finished long ago", Status = TaskStatuses.Completed, CompletedAt = LongAgo }, Ct);
        Assert.True(await writer.CreateSessionAsync(new SessionInfo { Id = "s-done", Type = "interactive", Status = "ended", TaskId = "done" }, Ct));
        await writer.AppendSessionLogAsync("s-done", "what the finished task did\n", Ct);
        await writer.SaveReportAsync("r-done", JsonSerializer.SerializeToElement(new { task_id = "done", outcome = "ok" }), Ct);
    }

    private static Task<StatectlRun> StatectlAsync(string schema, string[] arguments, string? connectionString) =>
        StatectlRun.RunAsync([.. arguments, "--store", "postgres", "--schema", schema],
            environment: new Dictionary<string, string> { ["STATEPERSISTENCE_CONNECTION_STRING"] = connectionString ?? PostgresServer.ConnectionString });

    private static async Task<long> CountAsync(string sql)
    {
        await using NpgsqlCommand command = PostgresServer.DataSource.CreateCommand(sql);
        return (long)(await command.ExecuteScalarAsync(Ct))!;
    }
}
