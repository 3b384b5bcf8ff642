using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Npgsql;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Encryption;
using StatePersistence.FileStore.Operations;
using StatePersistence.Model;
using StatePersistence.Postgres.Tests.Reencryption;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Postgres.Tests.Upgrade;

namespace StatePersistence.Postgres.Tests.Retention;

/// <summary>
/// The task archive on PostgreSQL (schema version 8): the retention pass's <c>TaskArchiveAfter</c> and
/// <c>statectl archive --store postgres</c> move finished tasks, with their logs and reports, into a row of
/// <c>task_archives</c> shared by every instance, and <c>archive restore</c> brings them back. Before, the policy was
/// a warning at start on PostgreSQL (event 73) and finished tasks stayed live for ever.
/// </summary>
public sealed class TaskArchiveOnPostgresTests
{
    private static readonly DateTimeOffset LongAgo = DateTimeOffset.UtcNow.AddDays(-40);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>
    /// An archive's tasks are deleted in commits of at most 1,000. One commit of them all took an advisory lock per
    /// task, and PostgreSQL's lock table is small: measured on PostgreSQL 15 with the defaults (64 locks per transaction,
    /// 100 connections), a transaction of 14,000 such locks failed with "out of shared memory", one of 12,000 did not,
    /// on an idle cluster; an archive holds up to 10,000 tasks, plus those an interrupted run left, while other
    /// sessions hold locks too. A failure there repeated on every pass, and made other sessions' locks fail meanwhile.
    /// </summary>
    [Fact]
    public async Task AnArchivesTasks_AreDeletedInCommitsOfAtMostAThousand()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using var store = new PostgresStateStore(PostgresServer.ConnectionString, schema.Name);
        await using var service = new StatePersistenceService(new StatePersistenceOptions(), store);
        await service.StartAsync(Ct);
        const int Count = 2_500;
        foreach (int[] chunk in Enumerable.Range(0, Count).Chunk(1_000))
        {
            await service.CommitGroupAsync("fill", (_, ids) => [.. ids.Select(i => Finished("t" + i))], chunk, Ct);
        }

        long before = (await store.ReadChangesAsync(0, Ct))[^1].Position;

        TaskArchiveResult result = await TaskArchives.ArchiveAsync(service, DateTimeOffset.UtcNow.AddDays(-30), cancellationToken: Ct);

        Assert.Equal(Count, result.Tasks.Count);
        Assert.Equal(0, service.CountTasks(new Querying.TaskQuery()));
        Assert.Equal(Count, Assert.Single(await TaskArchives.ListAsync(service, Ct)).Tasks);
        int[] deletions = [.. (await store.ReadChangesAsync(before, Ct)).Select(g => g.Changes.Count(c => c.Kind == Commit.ChangeKind.DeleteTask))];
        Assert.Equal([1_000, 1_000, 500], deletions);
    }

    private static Commit.StateChange Finished(string id)
    {
        var task = new AgentTask { Id = id, Description = "d", Status = TaskStatuses.Completed, CompletedAt = LongAgo };
        byte[] json = Serialization.ItemCodec.Serialize(task);
        return new Commit.StateChange(Commit.ChangeKind.PutTask, id, json, Serialization.ItemCodec.TaskItem(task, json));
    }

    [Fact]
    public async Task TheRetentionPass_ArchivesFinishedTasksWithTheirLogsAndReports_EveryInstanceDropsThem_AndARestoreBringsThemBack()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        var options = new StatePersistenceOptions();
        options.Retention.Interval = TimeSpan.Zero; // the test runs the pass
        options.Retention.TaskArchiveAfter = TimeSpan.FromDays(30);
        options.Retention.TaskArchiveWithLogs = true;
        await using StatePersistenceService a = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, options, cancellationToken: Ct);
        await using StatePersistenceService b = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: Ct);
        await a.SaveTaskAsync(new AgentTask { Id = "done", Description = "finished long ago", Status = TaskStatuses.Completed, CompletedAt = LongAgo }, Ct);
        await a.SaveTaskAsync(new AgentTask { Id = "broke", Description = "failed long ago", Status = TaskStatuses.Failed, UpdatedAt = LongAgo }, Ct);
        await a.SaveTaskAsync(new AgentTask { Id = "recent", Description = "finished today", Status = TaskStatuses.Completed, CompletedAt = DateTimeOffset.UtcNow }, Ct);
        await a.SaveTaskAsync(new AgentTask { Id = "waiting", Description = "never finished", Status = TaskStatuses.Pending, UpdatedAt = LongAgo }, Ct);
        Assert.True(await a.CreateSessionAsync(new SessionInfo { Id = "s-done", Type = "interactive", Status = "ended", TaskId = "done" }, Ct));
        await a.AppendSessionLogAsync("s-done", "what the finished task did\n", Ct);
        await a.SaveReportAsync("r-done", JsonSerializer.SerializeToElement(new { task_id = "done", outcome = "ok" }), Ct);
        await a.SaveReportAsync("r-other", JsonSerializer.SerializeToElement(new { task_id = "recent" }), Ct);

        await a.RunRetentionOnceAsync(Ct);

        Assert.Null(await a.LoadTaskAsync("done", Ct));
        Assert.Null(await a.LoadTaskAsync("broke", Ct));
        Assert.NotNull(await a.LoadTaskAsync("recent", Ct));
        Assert.NotNull(await a.LoadTaskAsync("waiting", Ct));
        // The other instance drops them through the change feed, as any other instance's deletion.
        await Eventually.UntilAsync(async () => await b.LoadTaskAsync("done", Ct) is null && await b.LoadTaskAsync("broke", Ct) is null);
        Assert.Null(await a.ReadSessionLogAsync("s-done", Ct));
        Assert.Null(await a.LoadReportAsync("r-done", Ct));
        Assert.NotNull(await a.LoadReportAsync("r-other", Ct));
        StatePersistence.Retention.TaskArchiveInfo kept = Assert.Single(await TaskArchives.ListAsync(b, Ct));
        string name = kept.Name;
        Assert.Equal(2, kept.Tasks);
        Assert.Equal(long.Parse(await ScalarTextAsync($"SELECT length(content)::text FROM {schema.Name}.task_archives") ?? "", System.Globalization.CultureInfo.InvariantCulture), kept.Bytes);
        Assert.Matches(@"^tasks\.\d{8}T\d{6}(\.\d+)?Z?.*\.tar\.gz$", name);
        Assert.Equal("broke,done", await ScalarTextAsync($"SELECT array_to_string(ARRAY(SELECT unnest(task_ids) ORDER BY 1), ',') FROM {schema.Name}.task_archives"));

        StatectlRun listed = await StatectlAsync(schema.Name, "archive", "list", "--json");
        StatectlRun holding = await StatectlAsync(schema.Name, "archive", "list", "--task", "broke", "--json");
        StatectlRun notHolding = await StatectlAsync(schema.Name, "archive", "list", "--task", "recent", "--json");
        StatectlRun badId = await StatectlAsync(schema.Name, "archive", "list", "--task", "no such/id");
        Assert.Equal(name, Assert.Single(holding.Json().GetProperty("archives").EnumerateArray()).GetProperty("name").GetString());
        Assert.Empty(notHolding.Json().GetProperty("archives").EnumerateArray());
        Assert.True(badId.ExitCode == 2, badId.ToString());
        StatectlRun restored = await StatectlAsync(schema.Name, "archive", "restore", name, "--json");
        StatectlRun again = await StatectlAsync(schema.Name, "archive", "restore", name);

        Assert.True(listed.ExitCode == 0, listed.ToString());
        JsonElement listedArchive = Assert.Single(listed.Json().GetProperty("archives").EnumerateArray());
        Assert.Equal(name, listedArchive.GetProperty("name").GetString());
        Assert.Equal(2, listedArchive.GetProperty("tasks").GetInt32());
        Assert.Equal(kept.Bytes, listedArchive.GetProperty("bytes").GetInt64());
        Assert.Contains("2 task(s)", (await StatectlAsync(schema.Name, "archive", "list")).Output, StringComparison.Ordinal);
        Assert.True(restored.ExitCode == 0, restored.ToString());
        Assert.Equal(2, restored.Json().GetProperty("tasks").GetInt32());
        Assert.Equal(1, restored.Json().GetProperty("logs").GetInt32());
        Assert.Equal(1, restored.Json().GetProperty("reports").GetInt32());
        long revision = restored.Json().GetProperty("revision").GetInt64();
        AgentTask back = (await a.WaitForTaskAsync("done", revision, Ct))!;
        Assert.Equal("finished long ago", back.Description);
        Assert.Equal(LongAgo, back.CompletedAt);
        Assert.Equal("failed long ago", (await b.WaitForTaskAsync("broke", revision, Ct))!.Description);
        Assert.Equal("what the finished task did\n", await a.ReadSessionLogAsync("s-done", Ct));
        Assert.Equal("ok", (await a.LoadReportAsync("r-done", Ct))!.Value.GetProperty("outcome").GetString());
        Assert.True(again.ExitCode == 1, again.ToString());
        Assert.Contains("task 'done' exists", again.Error, StringComparison.Ordinal);
        Assert.Single(await TaskArchives.ListAsync(a, Ct));
    }

    /// <summary>
    /// <c>archive list --store postgres</c> reads the rows without opening a store: a schema with no store, or one from
    /// before the task archives (version 7), is exit 1 naming it, and neither is created nor upgraded.
    /// </summary>
    [Fact]
    public async Task ArchiveList_OpensNoStore_ASchemaWithoutOneOrTooOld_IsNamed_AndLeftAsItIs()
    {
        await using TestSchema empty = await PostgresServer.NewSchemaAsync();
        await using TestSchema older = await PostgresServer.NewSchemaAsync();
        await Schema.PostgresSchema.EnsureAsync(PostgresServer.DataSource, older.Name, Ct);
        await using (NpgsqlCommand drop = PostgresServer.DataSource.CreateCommand(
            OlderSchema.DropVersion8(older.Name) + $"DELETE FROM {older.Name}.schema_version WHERE version >= 8;"))
        {
            await drop.ExecuteNonQueryAsync(Ct);
        }

        StatectlRun none = await StatectlAsync(empty.Name, "archive", "list");
        StatectlRun tooOld = await StatectlAsync(older.Name, "archive", "list", "--json");

        Assert.True(none.ExitCode == 1, none.ToString());
        Assert.Contains($"The PostgreSQL schema '{empty.Name}' at postgresql://", none.Error, StringComparison.Ordinal);
        Assert.Contains("holds no StatePersistence store", none.Error, StringComparison.Ordinal);
        Assert.Null(await ScalarTextAsync($"SELECT nspname::text FROM pg_namespace WHERE nspname = '{empty.Name}'"));
        Assert.True(tooOld.ExitCode == 1, tooOld.ToString());
        Assert.Contains("is at version 7; this needs version 8 or later", tooOld.Error, StringComparison.Ordinal);
        Assert.Null(await ScalarTextAsync($"SELECT to_regclass('{older.Name}.task_archives')::text"));
    }

    /// <summary>
    /// An instance's retention pass that finds the schema's archive lock held (an operator's run, another instance's
    /// pass) logs who holds it before it waits, in the background where a silent wait looks like a hang, archives once
    /// the lock is released, and logs how long it waited. Before, the pass said nothing until it had the lock.
    /// </summary>
    [Fact]
    public async Task TheRetentionPass_WhileAnotherRunHoldsTheArchiveLock_LogsWhoHoldsIt_ThenArchivesInItsTurn()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using NpgsqlConnection holder = await OneDoneTaskAndTheArchiveLockHeldAsync(schema.Name);
        string key = PostgresStateStore.ArchiveRunLockKey(schema.Name);

        var logs = new FakeLogCollector();
        using ILoggerFactory loggers = LoggerFactory.Create(builder => builder.AddProvider(new FakeLoggerProvider(logs)));
        var options = new StatePersistenceOptions();
        options.Retention.Interval = TimeSpan.FromHours(1); // one pass, right after the start
        options.Retention.TaskArchiveAfter = TimeSpan.FromDays(30);
        await using StatePersistenceService instance = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, options,
            loggerFactory: loggers, cancellationToken: Ct);

        await Eventually.UntilAsync(() => logs.GetSnapshot().Any(r => r.Id.Id == 75));
        string waiting = logs.GetSnapshot().Single(r => r.Id.Id == 75).Message;
        Assert.Contains($"the archive lock is held by PostgreSQL backend {holder.ProcessID}, application '", waiting, StringComparison.Ordinal);
        Assert.Equal(["done"], await TaskIdsAsync(schema.Name));

        await AdvisoryAsync("pg_advisory_unlock", holder, key);

        await Eventually.UntilAsync(async () => (await TaskIdsAsync(schema.Name)).Count == 0);
        await Eventually.UntilAsync(() => logs.GetSnapshot().Any(r => r.Id.Id == 76));
        Assert.Contains("had the archive lock after waiting", logs.GetSnapshot().Single(r => r.Id.Id == 76).Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// <c>statectl archive --store postgres</c> while another run holds the schema's archive lock says so on standard
    /// error, naming the backend, waits (its own wait shows in <c>pg_locks</c>), and archives once the lock is released.
    /// </summary>
    [Fact]
    public async Task Statectl_WhileAnotherRunHoldsTheArchiveLock_SaysWho_WaitsItsTurn_ThenArchives()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using NpgsqlConnection holder = await OneDoneTaskAndTheArchiveLockHeldAsync(schema.Name);
        string key = PostgresStateStore.ArchiveRunLockKey(schema.Name);
        int holderPid = holder.ProcessID;

        Task<StatectlRun> archiving = StatectlAsync(schema.Name, "archive", "--completed-before", "2100-01-01", "--json");
        await Eventually.UntilAsync(async () =>
        {
            await using NpgsqlCommand waiting = PostgresServer.DataSource.CreateCommand("""
                SELECT count(*) FROM pg_catalog.pg_locks
                WHERE locktype = 'advisory' AND objsubid = 1 AND NOT granted AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 0)
                """);
            waiting.Parameters.AddWithValue(key);
            return (long)(await waiting.ExecuteScalarAsync(Ct))! > 0;
        });
        Assert.False(archiving.IsCompleted, "statectl archived while another run held the lock");
        Assert.Equal(["done"], await TaskIdsAsync(schema.Name));
        await AdvisoryAsync("pg_advisory_unlock", holder, key);

        StatectlRun archived = await archiving;

        Assert.True(archived.ExitCode == 0, archived.ToString());
        Assert.Contains($"another task archive run or restore is in progress on this store (PostgreSQL backend {holderPid}, application '", archived.Error, StringComparison.Ordinal);
        Assert.Equal(["done"], archived.Json().GetProperty("taskIds").EnumerateArray().Select(t => t.GetString()));
        Assert.Empty(await TaskIdsAsync(schema.Name));
    }

    [Fact]
    public async Task ARunWhoseTasksCouldNotBeDeleted_LeavesThemLive_AndTheNextRunFinishesIt_WithoutASecondArchive()
    {
        await using TestSchema schema = await PostgresServer.NewSchemaAsync();
        await using (StatePersistenceService writer = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: Ct))
        {
            await writer.SaveTaskAsync(new AgentTask { Id = "done", Description = "finished long ago", Status = TaskStatuses.Completed, CompletedAt = LongAgo }, Ct);
        }

        // A role that may write every table but not delete from items: the archive commits, the deletion of its task fails.
        await using TestRole role = await TestRole.CreateAsync(schema.Name, $"""
            GRANT USAGE ON SCHEMA {schema.Name} TO ROLE_NAME;
            GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema.Name} TO ROLE_NAME;
            GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema.Name} TO ROLE_NAME;
            REVOKE DELETE ON {schema.Name}.items FROM ROLE_NAME;
            """);

        StatectlRun failed = await StatectlAsync(schema.Name, ["archive", "--completed-before", "2100-01-01"], role.ConnectionString);
        Assert.True(failed.ExitCode == 1, failed.ToString());
        string archive = Assert.Single(await ArchiveNamesAsync(schema.Name));

        StatectlRun finished = await StatectlAsync(schema.Name, "archive", "--completed-before", "2100-01-01", "--json");

        Assert.True(finished.ExitCode == 0, finished.ToString());
        JsonElement report = finished.Json();
        Assert.Equal(JsonValueKind.Null, report.GetProperty("archive").ValueKind);
        Assert.Equal(["done"], report.GetProperty("taskIds").EnumerateArray().Select(t => t.GetString()));
        Assert.EndsWith($"#{schema.Name}/task_archives/{archive}", Assert.Single(report.GetProperty("earlierArchives").EnumerateArray()).GetString(), StringComparison.Ordinal);
        Assert.Equal([archive], await ArchiveNamesAsync(schema.Name));
        await using (StatePersistenceService reader = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: Ct))
        {
            Assert.Null(await reader.LoadTaskAsync("done", Ct));
        }

        // verify reads every archive back whole, and du counts them.
        StatectlRun sound = await StatectlAsync(schema.Name, "verify", "--json");
        StatectlRun du = await StatectlAsync(schema.Name, "du", "--json");
        await using (NpgsqlCommand cut = PostgresServer.DataSource.CreateCommand($"UPDATE {schema.Name}.task_archives SET content = substring(content from 1 for length(content) - 16)"))
        {
            Assert.Equal(1, await cut.ExecuteNonQueryAsync(Ct));
        }

        StatectlRun damaged = await StatectlAsync(schema.Name, "verify", "--json");

        Assert.True(sound.ExitCode == 0, sound.ToString());
        Assert.Equal(1, sound.Json().GetProperty("rowsChecked").GetProperty("taskArchives").GetInt64());
        Assert.Equal(1, du.Json().GetProperty("kinds").EnumerateArray().Single(k => k.GetProperty("kind").GetString() == "archives").GetProperty("rows").GetInt64());
        Assert.True(damaged.ExitCode == 1, damaged.ToString());
        JsonElement problem = Assert.Single(damaged.Json().GetProperty("problems").EnumerateArray());
        Assert.EndsWith($"#{schema.Name}/task_archives/{archive}", problem.GetProperty("row").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnEncryptedArchive_IsCountedUnderItsKey_KeepsTheOldKeyUntilResealed_AndRestoresUnderTheNewOne()
    {
        await using EncryptedSchema schema = await EncryptedSchema.CreateAsync();
        string oldKey = EncryptionKeyFile.Create(schema.KeyFile).Active.Id;
        (StatePersistenceService writer, _) = await schema.OpenAsync(encrypted: true);
        await using (writer)
        {
            await writer.SaveTaskAsync(new AgentTask { Id = "done", Description = "secret work", Status = TaskStatuses.Completed, CompletedAt = LongAgo }, Ct);
            TaskArchiveResult archived = await TaskArchives.ArchiveAsync(writer, DateTimeOffset.UtcNow.AddDays(-30), cancellationToken: Ct);
            Assert.Equal(["done"], archived.Tasks);
        }

        Assert.Equal(oldKey, await ScalarTextAsync($"SELECT key_id FROM {schema.Name}.task_archives"));
        string newKey = EncryptionKeyOperations.Rotate(schema.KeyFile).Id;

        StatectlRun list = await StatectlAsync(schema.Name, "keys", "list", "--json", "--key-file", schema.KeyFile);
        StatectlRun refused = await StatectlAsync(schema.Name, "keys", "retire", oldKey, "--remove", "--key-file", schema.KeyFile);

        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Equal(1, list.Json().GetProperty("keys").EnumerateArray().Single(k => k.GetProperty("id").GetString() == oldKey).GetProperty("taskArchives").GetInt64());
        Assert.True(refused.ExitCode == 1, refused.ToString());
        Assert.Contains("1 task archives", refused.Error, StringComparison.Ordinal);

        (StatePersistenceService reencrypting, PostgresStateStore store) = await schema.OpenAsync(encrypted: true);
        await using (reencrypting)
        {
            await reencrypting.ReencryptToEndAsync(Ct);
            Assert.Equal(0, (await store.MeasureKeyUsageAsync(Ct)).For(oldKey).Total);
        }

        Assert.Equal(newKey, await ScalarTextAsync($"SELECT key_id FROM {schema.Name}.task_archives"));
        StatectlRun removed = await StatectlAsync(schema.Name, "keys", "retire", oldKey, "--remove", "--key-file", schema.KeyFile);
        Assert.True(removed.ExitCode == 0, removed.ToString());

        string name = (await ArchiveNamesAsync(schema.Name)).Single();
        StatectlRun restored = await StatectlAsync(schema.Name, "archive", "restore", name, "--key-file", schema.KeyFile);
        Assert.True(restored.ExitCode == 0, restored.ToString());
        (StatePersistenceService after, _) = await schema.OpenAsync(encrypted: true);
        await using (after)
        {
            Assert.Equal("secret work", (await after.LoadTaskAsync("done", Ct))!.Description);
        }
    }

    private static Task<StatectlRun> StatectlAsync(string schema, params string[] arguments) => StatectlAsync(schema, arguments, null);

    private static Task<StatectlRun> StatectlAsync(string schema, string[] arguments, string? connectionString) =>
        StatectlRun.RunAsync([.. arguments, "--store", "postgres", "--schema", schema],
            environment: new Dictionary<string, string> { ["STATEPERSISTENCE_CONNECTION_STRING"] = connectionString ?? PostgresServer.ConnectionString });

    private static async Task<List<string>> ArchiveNamesAsync(string schema)
    {
        await using NpgsqlCommand command = PostgresServer.DataSource.CreateCommand($"SELECT name FROM {schema}.task_archives ORDER BY name");
        var names = new List<string>();
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(Ct);
        while (await reader.ReadAsync(Ct))
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    /// <summary>A task finished long ago in <paramref name="schema"/>, and a connection holding its archive lock (another run's, as far as the store can tell).</summary>
    private static async Task<NpgsqlConnection> OneDoneTaskAndTheArchiveLockHeldAsync(string schema)
    {
        await using (StatePersistenceService writer = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema, cancellationToken: Ct))
        {
            await writer.SaveTaskAsync(new AgentTask { Id = "done", Description = "finished long ago", Status = TaskStatuses.Completed, CompletedAt = LongAgo }, Ct);
        }

        NpgsqlConnection holder = await PostgresServer.DataSource.OpenConnectionAsync(Ct);
        await AdvisoryAsync("pg_advisory_lock", holder, PostgresStateStore.ArchiveRunLockKey(schema));
        return holder;
    }

    private static async Task AdvisoryAsync(string function, NpgsqlConnection connection, string key)
    {
        await using var command = new NpgsqlCommand($"SELECT {function}(hashtextextended($1, 0))", connection);
        command.Parameters.AddWithValue(key);
        await command.ExecuteNonQueryAsync(Ct);
    }

    private static async Task<List<string>> TaskIdsAsync(string schema)
    {
        await using NpgsqlCommand command = PostgresServer.DataSource.CreateCommand($"SELECT id FROM {schema}.items WHERE kind = 'task' ORDER BY id");
        var ids = new List<string>();
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(Ct);
        while (await reader.ReadAsync(Ct))
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    private static async Task<string?> ScalarTextAsync(string sql)
    {
        await using NpgsqlCommand command = PostgresServer.DataSource.CreateCommand(sql);
        return await command.ExecuteScalarAsync(Ct) as string;
    }
}
