using System.Net;
using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.FileStore;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Tasks;

public sealed class TasksCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string StatePath => _temp.Combine("state");

    [Fact]
    public async Task List_Json_HasEveryTask_AndStatusFilters_AndChangesNothing()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 3);
        await using (ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]))
        {
            using HttpResponseMessage patched = await server.Client.PatchJsonAsync("/api/tasks/task_2", """{"status":"completed"}""");
            await patched.ExpectAsync(HttpStatusCode.OK);
            // Killed: the change is only in the journal, which the read replays.
            await server.KillAsync();
        }

        var before = DirectoryContents.Read(StatePath);

        StatectlRun all = await StatectlRun.RunAsync("tasks", "list", "--state-path", StatePath, "--json");
        StatectlRun completed = await StatectlRun.RunAsync("tasks", "list", "--status", "completed", "--state-path", StatePath, "--json");

        Assert.True(all.ExitCode == 0, all.ToString());
        Assert.Equal(["task_1", "task_2", "task_3"], all.Json().GetProperty("tasks").EnumerateArray().Select(t => t.GetProperty("id").GetString()));
        Assert.Equal("task number 1", all.Json().GetProperty("tasks")[0].GetProperty("description").GetString());
        Assert.True(completed.ExitCode == 0, completed.ToString());
        JsonElement only = Assert.Single(completed.Json().GetProperty("tasks").EnumerateArray());
        Assert.Equal("task_2", only.GetProperty("id").GetString());
        Assert.Equal("completed", only.GetProperty("status").GetString());
        DirectoryContents.AssertUnchanged(before, StatePath);
    }

    [Fact]
    public async Task List_Table_ShowsTheTasks()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 2);

        StatectlRun run = await StatectlRun.RunAsync("tasks", "list", "--state-path", StatePath);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("task_1", run.Output, StringComparison.Ordinal);
        Assert.Contains("pending", run.Output, StringComparison.Ordinal);
        Assert.Contains("2 task(s)", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_BesideARunningServerUnderLoad_HasEveryAcknowledgedTask()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]);
        await using WriteLoad load = WriteLoad.Start(server);
        await load.WaitForAsync(writes: 10, checkpoints: 2);

        for (int i = 0; i < 3; i++)
        {
            IReadOnlyDictionary<string, long> acknowledged = load.Acknowledged();
            StatectlRun run = await StatectlRun.RunAsync("tasks", "list", "--state-path", StatePath, "--json");

            Assert.True(run.ExitCode == 0, run.ToString());
            Dictionary<string, long> listed = run.Json().GetProperty("tasks").EnumerateArray()
                .ToDictionary(t => t.GetProperty("id").GetString()!, t => t.GetProperty("revision").GetInt64());
            foreach ((string id, long revision) in acknowledged)
            {
                Assert.True(listed.TryGetValue(id, out long seen) && seen >= revision, $"task '{id}' (acknowledged at {revision}) is missing or older\n{run}");
            }

            Assert.Empty(run.Json().GetProperty("problems").EnumerateArray());
        }
    }

    [Fact]
    public async Task Show_PrintsTheTask_AndAMissingOneIsExit1NamingIt()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 2);

        StatectlRun shown = await StatectlRun.RunAsync("tasks", "show", "task_2", "--state-path", StatePath);
        StatectlRun missing = await StatectlRun.RunAsync("tasks", "show", "task_9", "--state-path", StatePath, "--json");

        Assert.True(shown.ExitCode == 0, shown.ToString());
        Assert.Equal("task_2", shown.Json().GetProperty("id").GetString());
        Assert.Equal("task number 2", shown.Json().GetProperty("description").GetString());
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("'task_9'", missing.Error, StringComparison.Ordinal);
        Assert.Contains("'task_9'", missing.Json().GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    /// <summary>
    /// statectl's JSON is written for people and scripts, not HTML: an apostrophe, a plus, HTML's characters and text
    /// beyond ASCII appear as themselves. With System.Text.Json's default encoder "it's" came out as <c>it\u0027s</c>,
    /// and <c>grep "it's"</c> on the output found nothing.
    /// </summary>
    [Fact]
    public async Task Json_EscapesOnlyWhatJsonRequires()
    {
        const string description = "it's <b> & 1+1, ünïcødé ✓ \"quoted\"";
        await using (StatePersistenceService writer = await FileStatePersistence.OpenAsync(new StatePersistenceOptions { StatePath = StatePath }, cancellationToken: Http.Ct))
        {
            await writer.SaveTaskAsync(new StatePersistence.Model.AgentTask { Id = "task_1", Description = description, Status = "pending" }, Http.Ct);
        }

        StatectlRun shown = await StatectlRun.RunAsync("tasks", "show", "task_1", "--state-path", StatePath);
        StatectlRun listed = await StatectlRun.RunAsync("tasks", "list", "--state-path", StatePath, "--json");

        foreach (StatectlRun run in new[] { shown, listed })
        {
            Assert.True(run.ExitCode == 0, run.ToString());
            Assert.Contains("it's <b> & 1+1, ünïcødé ✓ \\\"quoted\\\"", run.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("\\u00", run.Output, StringComparison.Ordinal);
        }

        Assert.Equal(description, shown.Json().GetProperty("description").GetString());
        Assert.Equal(description, listed.Json().GetProperty("tasks")[0].GetProperty("description").GetString());
    }

    [Theory]
    [InlineData("tasks", "list", "--status", "done")]
    [InlineData("tasks", "show")]
    [InlineData("tasks", "show", "../etc/passwd")]
    public async Task BadUsage_IsExitCode2(params string[] arguments)
    {
        StatectlRun run = await StatectlRun.RunAsync([.. arguments, "--state-path", StatePath]);

        Assert.True(run.ExitCode == 2, run.ToString());
    }

    public void Dispose() => _temp.Dispose();
}
