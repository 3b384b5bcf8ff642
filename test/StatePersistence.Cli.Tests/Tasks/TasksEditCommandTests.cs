using System.Diagnostics;
using System.Net;
using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Tasks;

/// <summary><c>statectl tasks edit</c> with a scripted <c>$EDITOR</c>: a shell script that rewrites the file it is given.</summary>
public sealed class TasksEditCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string StatePath => _temp.Combine("state");

    private string TaskFile => Path.Combine(StatePath, "tasks", "task_1.json");

    [Fact]
    public async Task Edit_SavesTheEditedTask_ThroughTheLibrary_AndTheServerLoadsIt()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 2);
        string editor = Script("edit.sh", """sed -i 's/"task number 1"/"edited by hand"/; s/"pending"/"completed"/' "$1" """);

        StatectlRun run = await StatectlRun.RunAsync(["tasks", "edit", "task_1", "--state-path", StatePath, "--json"],
            environment: new Dictionary<string, string> { ["EDITOR"] = editor });

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("saved", run.Json().GetProperty("outcome").GetString());
        long revision = run.Json().GetProperty("revision").GetInt64();
        await using ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]);
        JsonElement task = await (await server.Client.GetUrlAsync("/api/tasks/task_1")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("edited by hand", task.Str("description"));
        Assert.Equal("completed", task.Str("status"));
        Assert.Equal(revision, task.GetProperty("revision").GetInt64());
        JsonElement other = await (await server.Client.GetUrlAsync("/api/tasks/task_2")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("task number 2", other.Str("description"));
        Assert.Equal(0, await server.TerminateAsync());
    }

    [Fact]
    public async Task Edit_StampsUpdatedAt_SoAClientSyncingByUpdatedSinceSeesIt()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 2);
        DateTimeOffset before = DateTimeOffset.UtcNow;
        string editor = Script("edit.sh", """sed -i 's/"task number 1"/"edited by hand"/' "$1" """);

        StatectlRun run = await StatectlRun.RunAsync(["tasks", "edit", "task_1", "--state-path", StatePath],
            environment: new Dictionary<string, string> { ["EDITOR"] = editor });

        Assert.True(run.ExitCode == 0, run.ToString());
        await using ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]);
        string since = Uri.EscapeDataString(before.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        JsonElement page = await (await server.Client.GetUrlAsync($"/api/tasks?updatedSince={since}")).ExpectAsync(HttpStatusCode.OK);
        JsonElement only = Assert.Single(page.EnumerateArray());
        Assert.Equal("task_1", only.Str("id"));
        Assert.Equal("edited by hand", only.Str("description"));
        Assert.Equal(0, await server.TerminateAsync());
    }

    [Fact]
    public async Task Edit_KeepsAnUpdatedAtTheEditSetItself()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 1);
        string editor = Script("edit.sh", """sed -i 's/"task number 1"/"edited by hand"/; s/"updated_at": "[^"]*"/"updated_at": "2020-01-02T03:04:05+00:00"/' "$1" """);

        StatectlRun run = await StatectlRun.RunAsync(["tasks", "edit", "task_1", "--state-path", StatePath],
            environment: new Dictionary<string, string> { ["EDITOR"] = editor });

        Assert.True(run.ExitCode == 0, run.ToString());
        StatectlRun shown = await StatectlRun.RunAsync("tasks", "show", "task_1", "--state-path", StatePath, "--json");
        Assert.True(shown.ExitCode == 0, shown.ToString());
        Assert.Equal(new DateTimeOffset(2020, 1, 2, 3, 4, 5, TimeSpan.Zero), shown.Json().GetProperty("updated_at").GetDateTimeOffset());
        Assert.Equal("edited by hand", shown.Json().GetProperty("description").GetString());
    }

    [Fact]
    public async Task Edit_VisualIsUsedWhenEditorIsNotSet_AndAnUnchangedFileIsNoChange()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 1);
        byte[] before = await File.ReadAllBytesAsync(TaskFile, TestContext.Current.CancellationToken);
        string marker = _temp.Combine("opened");
        string editor = Script("look.sh", $"touch '{marker}'");

        StatectlRun run = await StatectlRun.RunAsync(["tasks", "edit", "task_1", "--state-path", StatePath],
            environment: new Dictionary<string, string> { ["VISUAL"] = editor });

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.True(File.Exists(marker), "the $VISUAL editor did not run");
        Assert.Contains("No change to task 'task_1'", run.Output, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllBytesAsync(TaskFile, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Edit_WithoutEditorOrVisual_IsRefusedNamingThem()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 1);

        StatectlRun run = await StatectlRun.RunAsync("tasks", "edit", "task_1", "--state-path", StatePath);

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains("$EDITOR", run.Error, StringComparison.Ordinal);
        Assert.Contains("$VISUAL", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Edit_OfAMissingTask_IsExitCode1_NamingIt()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 1);

        StatectlRun run = await StatectlRun.RunAsync(["tasks", "edit", "task_9", "--state-path", StatePath],
            environment: new Dictionary<string, string> { ["EDITOR"] = "true" });

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains("task_9", run.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""printf '{"id": "task_1", "description": ' > "$1" """, "not a valid task")]
    [InlineData("""sed -i 's/"task_1"/"task_9"/' "$1" """, "Invalid 'id'")]
    [InlineData("""sed -i 's/"pending"/"done"/' "$1" """, "Invalid 'status': 'done' is not one of pending")]
    [InlineData("""sed -i '/"description"/d' "$1" """, "Invalid 'description'")]
    [InlineData("""sed -i 's/"revision": [0-9]*/"revision": 999/' "$1" """, "Invalid 'revision'")]
    [InlineData("""sed -i 's/"created_at": "[^"]*"/"created_at": 12/' "$1" """, "created_at")]
    [InlineData("exit 4", "exited with code 4")]
    public async Task Edit_ThatIsInvalid_IsRefusedNamingTheProblem_NothingIsStored_AndTheEditIsKept(string script, string problem)
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 1);
        byte[] before = await File.ReadAllBytesAsync(TaskFile, TestContext.Current.CancellationToken);
        string state = await File.ReadAllTextAsync(Path.Combine(StatePath, "state.json"), TestContext.Current.CancellationToken);

        StatectlRun run = await StatectlRun.RunAsync(["tasks", "edit", "task_1", "--state-path", StatePath, "--json"],
            environment: new Dictionary<string, string> { ["EDITOR"] = Script("bad.sh", script) });

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains(problem, run.Error, StringComparison.Ordinal);
        Assert.Contains(problem, run.Json().GetProperty("error").GetString(), StringComparison.Ordinal);
        string kept = KeptEdit(run.Error);
        Assert.True(File.Exists(kept), run.ToString());
        Assert.False(kept.StartsWith(StatePath, StringComparison.Ordinal), kept);
        File.Delete(kept);
        Assert.Equal(before, await File.ReadAllBytesAsync(TaskFile, TestContext.Current.CancellationToken));
        Assert.Equal(state, await File.ReadAllTextAsync(Path.Combine(StatePath, "state.json"), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Edit_OfATaskChangedWhileTheEditorWasOpen_IsAConflict_AndTheOtherChangeIsKept()
    {
        // The editor waits for the test's signal; it gives up after about two minutes, so a failing test leaves no process behind.
        await ServerWrittenState.WriteAsync(StatePath, tasks: 1);
        string editing = _temp.Combine("editing");
        string go = _temp.Combine("go");
        string editor = Script("slow.sh", $$"""
            sed -i 's/"task number 1"/"edited by hand"/' "$1"
            touch '{{editing}}'
            i=0
            while [ ! -f '{{go}}' ]; do sleep 0.1; i=$((i+1)); [ $i -lt 1200 ] || exit 3; done
            """);

        Task<StatectlRun> running = StatectlRun.RunAsync(["tasks", "edit", "task_1", "--state-path", StatePath],
            environment: new Dictionary<string, string> { ["EDITOR"] = editor });
        while (!File.Exists(editing) && !running.IsCompleted)
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        if (!File.Exists(editing))
        {
            Assert.Fail("statectl ended before its editor ran: " + await running);
        }

        await using (ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]))
        {
            using HttpResponseMessage patched = await server.Client.PatchJsonAsync("/api/tasks/task_1", """{"description":"changed meanwhile"}""");
            Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
            Assert.Equal(0, await server.TerminateAsync());
        }

        await File.WriteAllTextAsync(go, "", TestContext.Current.CancellationToken);
        StatectlRun run = await running;

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains("changed since it was read", run.Error, StringComparison.Ordinal);
        File.Delete(KeptEdit(run.Error));
        await using (ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]))
        {
            JsonElement task = await (await server.Client.GetUrlAsync("/api/tasks/task_1")).ExpectAsync(HttpStatusCode.OK);
            Assert.Equal("changed meanwhile", task.Str("description"));
            Assert.Equal(0, await server.TerminateAsync());
        }
    }

    /// <summary>Before 2026-12-07 the id was checked last: $EDITOR was needed, the lock taken and recovery run, then exit 1.</summary>
    [Theory]
    [InlineData("")]
    [InlineData("a b")]
    [InlineData("../escape")]
    public async Task Edit_OfAnInvalidId_IsBadUsageNamingIt_BeforeTheEditorOrTheDirectory(string id)
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 1);
        SortedDictionary<string, byte[]> before = DirectoryContents.Read(StatePath);
        string opened = _temp.Combine("opened");

        StatectlRun run = await StatectlRun.RunAsync(["tasks", "edit", id, "--state-path", StatePath],
            environment: new Dictionary<string, string> { ["EDITOR"] = Script("look.sh", $"touch '{opened}'") });

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains($"'{id}' is not a task id:", run.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(opened), "the editor ran");
        DirectoryContents.AssertUnchanged(before, StatePath);
    }

    /// <summary>
    /// The directory moved away while the editor was open: the save's open fails, and the message names the temp file
    /// holding the edit (before 2026-12-07 only a refusal by the library did; this one named the directory alone).
    /// </summary>
    [Fact]
    public async Task Edit_WhenTheDirectoryMovedAwayWhileTheEditorWasOpen_NamesTheFileKeepingTheEdit()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 1);
        string moved = _temp.Combine("moved");
        string editor = Script("edit-and-move.sh", $$"""sed -i 's/"task number 1"/"edited by hand"/' "$1"; mv '{{StatePath}}' '{{moved}}'""");

        StatectlRun run = await StatectlRun.RunAsync(["tasks", "edit", "task_1", "--state-path", StatePath, "--json"],
            environment: new Dictionary<string, string> { ["EDITOR"] = editor });

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains("Task 'task_1' was not saved:", run.Error, StringComparison.Ordinal);
        Assert.Contains(StatePath, run.Error, StringComparison.Ordinal);
        string kept = KeptEdit(run.Error);
        Assert.Contains("edited by hand", File.ReadAllText(kept), StringComparison.Ordinal);
        Assert.Contains(kept, run.Json().GetProperty("error").GetString(), StringComparison.Ordinal);
        File.Delete(kept);
        Assert.False(Directory.Exists(StatePath), "the save created the directory anew");
    }

    /// <summary>The temp file a refused edit is kept in, as the message names it.</summary>
    private static string KeptEdit(string error)
    {
        int start = error.IndexOf("kept in '", StringComparison.Ordinal);
        Assert.True(start >= 0, error);
        start += "kept in '".Length;
        return error[start..error.IndexOf('\'', start)];
    }

    /// <summary>An <c>$EDITOR</c> value that runs <paramref name="body"/> with the file to edit as <c>$1</c>.</summary>
    [Fact]
    public async Task Edit_InterruptedWhileTheEditorIsOpen_SavesNothing_AndNamesTheFileKeepingTheEdit()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 1);
        byte[] before = await File.ReadAllBytesAsync(TaskFile, Http.Ct);
        string temp = _temp.Combine("tmp");
        Directory.CreateDirectory(temp);
        // An editor the operator has typed into and not left yet.
        // Killed by its pid once statectl has ended.
        string editorPid = _temp.Combine("editor.pid");
        string editor = Script("typing.sh", $$"""sed -i 's/"task number 1"/"half typed"/' "$1"; echo $$ > '{{editorPid}}'; exec sleep 60""");

        using Process edit = StatectlProcess.Start(["tasks", "edit", "task_1", "--state-path", StatePath],
            new Dictionary<string, string> { ["EDITOR"] = editor, ["TMPDIR"] = temp });
        Task<string> errors = edit.StandardError.ReadToEndAsync(Http.Ct);
        string? file = null;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(Http.Ct))
        {
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            while ((file = Directory.EnumerateFiles(temp, "statectl-edit-task_1-*.json").FirstOrDefault()) is null
                || !(await File.ReadAllTextAsync(file, timeout.Token)).Contains("half typed", StringComparison.Ordinal))
            {
                Assert.False(edit.HasExited, "statectl ended before its editor was typed into");
                await Task.Delay(10, timeout.Token);
            }
        }

        using (Process signal = Process.Start("kill", ["-INT", edit.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await signal.WaitForExitAsync(Http.Ct);
        }

        await edit.WaitForExitAsync(Http.Ct);
        // The shells between statectl and the editor still hold its standard error until the editor ends.
        using (Process stop = Process.Start("kill", [(await File.ReadAllTextAsync(editorPid, Http.Ct)).Trim()]))
        {
            await stop.WaitForExitAsync(Http.Ct);
        }

        // Before: exit 130 and "Interrupted by a signal", the edit left in a temp file nothing named.
        Assert.Equal(130, edit.ExitCode);
        Assert.Contains($"nothing was saved; the edit is kept in '{file}'", await errors, StringComparison.Ordinal);
        Assert.Contains("half typed", await File.ReadAllTextAsync(file, Http.Ct), StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllBytesAsync(TaskFile, Http.Ct));
    }

    private string Script(string name, string body)
    {
        string path = _temp.Combine(name);
        File.WriteAllText(path, body + "\n");

        // An editor command with an argument, as EDITOR="code -w" is: statectl runs it through /bin/sh.
        return $"sh '{path}'";
    }

    public void Dispose() => _temp.Dispose();
}
