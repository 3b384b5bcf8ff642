using Npgsql;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Model;
using StatePersistence.Postgres.Tests.Reencryption;
using StatePersistence.Postgres.Tests.Support;

namespace StatePersistence.Postgres.Tests.Editing;

/// <summary>
/// <c>statectl tasks edit ID --store postgres</c>, the real tool against the real database beside a running instance,
/// with a scripted <c>$EDITOR</c>. Before, an operator of a PostgreSQL deployment could read a task with statectl but
/// mend one only with psql (bypassing the revision, the change feed and, under encryption, unable to) or through the
/// HTTP API by hand.
/// </summary>
public sealed class StatectlTasksEditTests : IDisposable
{
    private readonly string _scripts = Directory.CreateTempSubdirectory("sp-edit-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AnEdit_UnderEncryption_IsSavedAsAConditionalWrite_AndARunningInstanceServesIt()
    {
        await using EncryptedSchema schema = await EncryptedSchema.CreateAsync();
        Encryption.EncryptionKeyFile.Create(schema.KeyFile);
        (StatePersistenceService running, _) = await schema.OpenAsync(encrypted: true);
        await using (running)
        {
            await running.SaveTaskAsync(new AgentTask { Id = "t1", Description = "as written", Status = "pending", Tool = "CLAUDECODE" }, Ct);
            await running.SaveTaskAsync(new AgentTask { Id = "t2", Description = "left alone", Status = "pending" }, Ct);
            long before = (await running.LoadTaskAsync("t1", Ct))!.Revision;

            StatectlRun run = await EditAsync(schema, "t1", """sed -i 's/"as written"/"edited by hand"/; s/"pending"/"completed"/' "$1" """, "--json");

            Assert.True(run.ExitCode == 0, run.ToString());
            Assert.Equal("saved", run.Json().GetProperty("outcome").GetString());
            long revision = run.Json().GetProperty("revision").GetInt64();
            Assert.True(revision > before, $"saved at {revision}, read at {before}");
            // The running instance gets the edit through the change feed, as any other instance's write.
            AgentTask served = (await running.WaitForTaskAsync("t1", revision, Ct))!;
            Assert.Equal("edited by hand", served.Description);
            Assert.Equal("completed", served.Status);
            Assert.Equal("CLAUDECODE", served.Tool);
            Assert.Equal("left alone", (await running.LoadTaskAsync("t2", Ct))!.Description);
        }

        // Sealed as the instances seal: the edited text is nowhere in the clear.
        Assert.Empty(await schema.RowsNamingAsync("edited by hand"));
    }

    [Fact]
    public async Task ATaskChangedByAnInstanceWhileTheEditorWasOpen_IsAConflict_AndTheInstancesChangeIsKept()
    {
        await using EncryptedSchema schema = await EncryptedSchema.CreateAsync();
        (StatePersistenceService running, _) = await schema.OpenAsync(encrypted: false);
        await using (running)
        {
            await running.SaveTaskAsync(new AgentTask { Id = "t1", Description = "as written", Status = "pending" }, Ct);
            string editing = Path.Combine(_scripts, "editing");
            string go = Path.Combine(_scripts, "go");
            // The editor waits for the test's signal, and gives up after about two minutes so a failing test leaves no process behind.
            Task<StatectlRun> edit = EditAsync(schema, "t1", $$"""
                sed -i 's/"as written"/"edited by hand"/' "$1"
                touch '{{editing}}'
                i=0
                while [ ! -f '{{go}}' ]; do sleep 0.1; i=$((i+1)); [ $i -lt 1200 ] || exit 3; done
                """);
            while (!File.Exists(editing) && !edit.IsCompleted)
            {
                await Task.Delay(50, Ct);
            }

            Assert.True(File.Exists(editing), "statectl ended before its editor ran: " + (edit.IsCompleted ? (await edit).ToString() : ""));
            AgentTask meanwhile = (await running.LoadTaskAsync("t1", Ct))!;
            meanwhile.Description = "changed meanwhile";
            await running.SaveTaskAsync(meanwhile, Ct);
            await File.WriteAllTextAsync(go, "", Ct);
            StatectlRun run = await edit;

            Assert.True(run.ExitCode == 1, run.ToString());
            Assert.Contains("changed since it was read", run.Error, StringComparison.Ordinal);
            Assert.Contains("kept in '", run.Error, StringComparison.Ordinal);
            Assert.Equal("changed meanwhile", (await running.LoadTaskAsync("t1", Ct))!.Description);
        }

        await using StatePersistenceService reopened = await PostgresStatePersistence.OpenAsync(PostgresServer.ConnectionString, schema.Name, cancellationToken: Ct);
        Assert.Equal("changed meanwhile", (await reopened.LoadTaskAsync("t1", Ct))!.Description);
    }

    [Fact]
    public async Task ASchemaWithoutAStore_IsRefusedNamingIt_AndNothingIsCreated_NorIsTheEditorRun()
    {
        await using TestSchema empty = await PostgresServer.NewSchemaAsync();
        string opened = Path.Combine(_scripts, "opened");

        StatectlRun run = await StatectlRun.RunAsync(["tasks", "edit", "t1", "--store", "postgres", "--schema", empty.Name],
            environment: Environment(Script($"touch '{opened}'")));

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains($"The PostgreSQL schema '{empty.Name}' at postgresql://", run.Error, StringComparison.Ordinal);
        Assert.Contains("holds no StatePersistence store", run.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(opened), "the editor ran");
        await using NpgsqlCommand exists = PostgresServer.DataSource.CreateCommand($"SELECT count(*) FROM pg_namespace WHERE nspname = '{empty.Name}'");
        Assert.Equal(0L, (long)(await exists.ExecuteScalarAsync(Ct))!);
    }

    /// <summary>Runs the edit, with the schema's key file when it exists (the instance runs encrypted).</summary>
    private Task<StatectlRun> EditAsync(EncryptedSchema schema, string id, string editorBody, params string[] arguments) =>
        StatectlRun.RunAsync(["tasks", "edit", id, .. arguments, "--store", "postgres", "--schema", schema.Name,
            .. File.Exists(schema.KeyFile) ? ["--key-file", schema.KeyFile] : Array.Empty<string>()],
            environment: Environment(Script(editorBody)));

    /// <summary>The operator's environment: the connection string in its variable, and <c>$EDITOR</c>.</summary>
    private static Dictionary<string, string> Environment(string editor) => new()
    {
        ["STATEPERSISTENCE_CONNECTION_STRING"] = PostgresServer.ConnectionString,
        ["EDITOR"] = editor,
    };

    /// <summary>An <c>$EDITOR</c> value that runs <paramref name="body"/> with the file to edit as <c>$1</c>.</summary>
    private string Script(string body)
    {
        string path = Path.Combine(_scripts, $"editor-{Guid.NewGuid():N}.sh");
        File.WriteAllText(path, body + "\n");
        return $"sh '{path}'";
    }

    public void Dispose() => Directory.Delete(_scripts, recursive: true);
}
