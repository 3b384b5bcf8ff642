using System.Text.Json;
using Npgsql;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Encryption;
using StatePersistence.Model;
using StatePersistence.Postgres.Tests.Reencryption;
using StatePersistence.Postgres.Tests.Support;

namespace StatePersistence.Postgres.Tests.Reading;

/// <summary>
/// <c>statectl tasks list</c> and <c>tasks show</c> with <c>--store postgres</c>, the real tool against the real
/// database: the tasks as the instances serve them (revisions, unknown fields, sealed rows opened with the key file), a
/// damaged row named while the others are still listed, and nothing created or changed by the read. Before, an operator
/// of a PostgreSQL deployment had no statectl command that showed a task: only psql, and under encryption not even that.
/// </summary>
public sealed class StatectlTasksTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The connection string as an operator would give it: in the variable, not on the command line.</summary>
    private static Dictionary<string, string> Environment => new() { ["STATEPERSISTENCE_CONNECTION_STRING"] = PostgresServer.ConnectionString };

    [Fact]
    public async Task ListAndShow_ReadTheTasksAsTheInstancesServeThem()
    {
        await using EncryptedSchema schema = await EncryptedSchema.CreateAsync();
        (StatePersistenceService service, _) = await schema.OpenAsync(encrypted: false);
        long revision;
        await using (service)
        {
            for (int i = 0; i < 5; i++)
            {
                await service.SaveTaskAsync(new AgentTask
                {
                    Id = $"t{i}", Description = $"task {i}", Tool = "CLAUDECODE", Status = i < 2 ? "completed" : "pending",
                    ExtensionData = new() { ["x_note"] = JsonSerializer.SerializeToElement(new { kept = i }) },
                }, Ct);
            }

            await service.SaveTaskAsync(new AgentTask { Id = "gone", Description = "deleted" }, Ct);
            await service.DeleteTaskAsync("gone", Ct);
            revision = service.Revision;
        }

        StatectlRun list = await TasksAsync(schema, "list", "--json");
        StatectlRun completed = await TasksAsync(schema, "list", "--status", "completed", "--json");
        StatectlRun table = await TasksAsync(schema, "list");
        StatectlRun show = await TasksAsync(schema, "show", "t3");
        StatectlRun missing = await TasksAsync(schema, "show", "gone");

        Assert.True(list.ExitCode == 0, list.ToString());
        JsonElement report = list.Json();
        Assert.EndsWith($"#{schema.Name}", report.GetProperty("database").GetString(), StringComparison.Ordinal);
        Assert.Equal(revision, report.GetProperty("revision").GetInt64());
        Assert.Equal(["t0", "t1", "t2", "t3", "t4"], report.GetProperty("tasks").EnumerateArray().Select(t => t.GetProperty("id").GetString()));
        Assert.All(report.GetProperty("tasks").EnumerateArray(), t => Assert.Equal("CLAUDECODE", t.GetProperty("tool").GetString()));
        Assert.Empty(report.GetProperty("problems").EnumerateArray());
        Assert.Equal(["t0", "t1"], completed.Json().GetProperty("tasks").EnumerateArray().Select(t => t.GetProperty("id").GetString()));
        Assert.True(table.ExitCode == 0, table.ToString());
        // The caption wraps at the console's width.
        Assert.Contains("5 task(s) in the PostgreSQL store", System.Text.RegularExpressions.Regex.Replace(table.Output, @"\s+", " "), StringComparison.Ordinal);
        Assert.Contains("task 4", table.Output, StringComparison.Ordinal);

        Assert.True(show.ExitCode == 0, show.ToString());
        using (JsonDocument task = JsonDocument.Parse(show.Output))
        {
            Assert.Equal("task 3", task.RootElement.GetProperty("description").GetString());
            Assert.Equal(3, task.RootElement.GetProperty("x_note").GetProperty("kept").GetInt32());
            long shownRevision = task.RootElement.GetProperty("revision").GetInt64();
            Assert.Equal(shownRevision, report.GetProperty("tasks").EnumerateArray().Single(t => t.GetProperty("id").GetString() == "t3").GetProperty("revision").GetInt64());
        }

        Assert.True(missing.ExitCode == 1, missing.ToString());
        Assert.Contains($"There is no task 'gone' in the PostgreSQL store postgresql://", missing.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(PostgresServer.ConnectionString, list.ToString() + table + show + missing, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SealedRows_AreOpenedWithTheKeyFile_AndWithoutIt_TheRefusalSaysToPassOne()
    {
        await using EncryptedSchema schema = await EncryptedSchema.PopulatedAndSealedAsync();

        StatectlRun list = await TasksAsync(schema, "list", "--key-file", schema.KeyFile, "--json");
        StatectlRun show = await TasksAsync(schema, "show", "t7", "--key-file", schema.KeyFile);
        StatectlRun keyless = await TasksAsync(schema, "list");

        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Equal(EncryptedSchema.Items, list.Json().GetProperty("count").GetInt32());
        Assert.Contains(list.Json().GetProperty("tasks").EnumerateArray(), t => t.GetProperty("description").GetString() == $"7 {EncryptedSchema.Description}");
        Assert.True(show.ExitCode == 0, show.ToString());
        Assert.Contains($"7 {EncryptedSchema.Description}", show.Output, StringComparison.Ordinal);
        Assert.True(keyless.ExitCode == 1, keyless.ToString());
        Assert.Contains("The PostgreSQL store holds sealed rows", keyless.Error, StringComparison.Ordinal);
        Assert.Contains("pass --key-file FILE or set STATE_ENCRYPTION_KEY_FILE", keyless.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(EncryptedSchema.Description, keyless.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ADamagedRow_IsNamed_TheOthersAreListed_AndTheReadChangesNothing()
    {
        await using EncryptedSchema schema = await EncryptedSchema.PopulatedAndSealedAsync();

        // One byte of t5's ciphertext flipped at rest: its envelope checksum fails.
        Assert.Equal(1, await schema.ScalarAsync("WITH u AS (UPDATE {0}.items SET sealed = set_byte(sealed, octet_length(sealed) - 1, get_byte(sealed, octet_length(sealed) - 1) # 1) WHERE kind = 'task' AND id = 't5' RETURNING 1) SELECT count(*) FROM u"));
        string before = await DumpAsync(schema.Name);

        StatectlRun list = await TasksAsync(schema, "list", "--key-file", schema.KeyFile, "--json");
        StatectlRun show = await TasksAsync(schema, "show", "t5", "--key-file", schema.KeyFile);

        Assert.True(list.ExitCode == 0, list.ToString());
        JsonElement report = list.Json();
        Assert.Equal(EncryptedSchema.Items - 1, report.GetProperty("count").GetInt32());
        Assert.DoesNotContain(report.GetProperty("tasks").EnumerateArray(), t => t.GetProperty("id").GetString() == "t5");
        JsonElement problem = Assert.Single(report.GetProperty("problems").EnumerateArray());
        Assert.Equal("t5", problem.GetProperty("id").GetString());
        Assert.EndsWith($"#{schema.Name}/task/t5", problem.GetProperty("row").GetString(), StringComparison.Ordinal);
        Assert.Contains("statectl: warning: The row 'postgresql://", list.Error, StringComparison.Ordinal);
        Assert.Contains("/task/t5' (revision", list.Error, StringComparison.Ordinal);
        Assert.True(show.ExitCode == 1, show.ToString());
        Assert.Contains("The task 't5' in the PostgreSQL store postgresql://", show.Error, StringComparison.Ordinal);
        Assert.Contains("cannot be read", show.Error, StringComparison.Ordinal);
        Assert.Equal(before, await DumpAsync(schema.Name));
    }

    [Fact]
    public async Task ASchemaWithoutAStore_IsNamed_AndLeftWithoutOne_AndAStoreWithoutAConnectionString_IsBadUsage()
    {
        await using TestSchema empty = await PostgresServer.NewSchemaAsync();

        StatectlRun none = await StatectlRun.RunAsync(["tasks", "list", "--store", "postgres", "--schema", empty.Name], environment: Environment);
        StatectlRun noString = await StatectlRun.RunAsync(["tasks", "show", "t1", "--store", "postgres"]);
        StatectlRun unparsable = await StatectlRun.RunAsync(["tasks", "list", "--store", "postgres", "--connection-string", "Host=db;Bogus Key=1;Password=hunter2"]);

        Assert.True(none.ExitCode == 1, none.ToString());
        Assert.Contains($"The PostgreSQL schema '{empty.Name}' at postgresql://", none.Error, StringComparison.Ordinal);
        Assert.Contains("holds no StatePersistence store", none.Error, StringComparison.Ordinal);
        // What statectl takes, not the server's setting (before 2026-12-07: StatePersistence:Schema).
        Assert.Contains("check the schema name (--schema or StatePersistence__Schema, default", none.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("StatePersistence:Schema", none.Error, StringComparison.Ordinal);
        await using (NpgsqlCommand exists = PostgresServer.DataSource.CreateCommand($"SELECT count(*) FROM pg_namespace WHERE nspname = '{empty.Name}'"))
        {
            Assert.Equal(0L, (long)(await exists.ExecuteScalarAsync(Ct))!);
        }

        Assert.True(noString.ExitCode == 2, noString.ToString());
        Assert.Contains("--store postgres needs a connection string", noString.Error, StringComparison.Ordinal);
        Assert.True(unparsable.ExitCode == 2, unparsable.ToString());
        Assert.Contains("The PostgreSQL connection string (--connection-string", unparsable.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", unparsable.ToString(), StringComparison.Ordinal);
    }

    /// <summary>
    /// Strings Npgsql's parse takes but no connection comes from, and schema names PostgreSQL cannot take: each
    /// command failed with an unhandled exception and its stack trace (a port out of range, no host, a minimum pool
    /// above the maximum), or a syntax error from the first statement (a reserved word); <c>migrate apply --create</c>
    /// filled <c>information_schema</c>. Now bad usage naming the problem, the string never shown.
    /// </summary>
    [Theory]
    [InlineData("health", "Host=127.0.0.1;Port=99999;Username=postgres;Password=hunter2", null, "names port 99999, which is not a TCP port (1-65535)")]
    [InlineData("verify", "Port=5432;Username=postgres;Password=hunter2", null, "cannot be parsed")]
    [InlineData("du", "Host=127.0.0.1;Username=postgres;Password=hunter2;Minimum Pool Size=5;Maximum Pool Size=2", null, "cannot be parsed")]
    [InlineData("migrate apply --create", null, "information_schema", "is not allowed: PostgreSQL keeps it for its own")]
    [InlineData("tasks list", null, "select", "is not allowed: it is a reserved word of SQL")]
    public async Task AConnectionStringOrSchemaNameNoStoreCanUse_IsBadUsageNamingIt(string command, string? connectionString, string? schema, string expected)
    {
        StatectlRun run = await StatectlRun.RunAsync([.. command.Split(' '), "--store", "postgres",
            "--connection-string", connectionString ?? PostgresServer.ConnectionString, .. schema is null ? Array.Empty<string>() : ["--schema", schema]]);

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains(expected, run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", run.ToString(), StringComparison.Ordinal);
        await using NpgsqlCommand tables = PostgresServer.DataSource.CreateCommand("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'information_schema' AND table_name = 'items'");
        Assert.Equal(0L, (long)(await tables.ExecuteScalarAsync(Ct))!);
    }

    private static Task<StatectlRun> TasksAsync(EncryptedSchema schema, params string[] arguments) =>
        StatectlRun.RunAsync(["tasks", .. arguments, "--store", "postgres", "--schema", schema.Name], environment: Environment);

    /// <summary>Every row of the store's tables and its sequences, as text: what a read must leave exactly as it was.</summary>
    private static async Task<string> DumpAsync(string schema)
    {
        var dump = new System.Text.StringBuilder();
        foreach (string table in new[] { "items", "changes", "feed_horizon", "schema_version" })
        {
            await using NpgsqlCommand rows = PostgresServer.DataSource.CreateCommand($"SELECT t::text FROM {schema}.{table} t ORDER BY 1");
            await using NpgsqlDataReader reader = await rows.ExecuteReaderAsync(Ct);
            while (await reader.ReadAsync(Ct))
            {
                dump.Append(table).Append(": ").AppendLine(reader.GetString(0));
            }
        }

        await using NpgsqlCommand sequence = PostgresServer.DataSource.CreateCommand($"SELECT last_value, is_called FROM {schema}.revisions");
        await using NpgsqlDataReader values = await sequence.ExecuteReaderAsync(Ct);
        await values.ReadAsync(Ct);
        return dump.Append("revisions: ").Append(values.GetInt64(0)).Append(values.GetBoolean(1)).ToString();
    }
}
