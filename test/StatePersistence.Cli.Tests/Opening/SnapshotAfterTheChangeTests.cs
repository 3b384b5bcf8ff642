using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Opening;

/// <summary>
/// A change whose snapshot after it fails (a full disk, a folder of the directory it may not write): the change is
/// committed in the journal, but the snapshot that folds it into state.json and the item files is not written. Before
/// 2026-12-07 'tasks edit', 'archive' and 'archive restore' left that snapshot to the service's disposal, which only
/// logs a failure, and statectl has no log: each printed its success, exit 0, not a word of it. Now each says the
/// change took effect and is durable, why the snapshot failed, and exits 1 (<c>--json</c>: <c>snapshotFailure</c>), as
/// 'backups restore' does. The folder is made unwritable with <c>chattr +i</c>, which binds root too.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class SnapshotAfterTheChangeTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string StatePath => _temp.Combine("state");

    private string TasksFolder => Path.Combine(StatePath, "tasks");

    public SnapshotAfterTheChangeTests() =>
        Assert.SkipUnless(OperatingSystem.IsLinux() && Environment.IsPrivilegedProcess, "chattr +i takes root (CAP_LINUX_IMMUTABLE).");

    public void Dispose()
    {
        if (Directory.Exists(TasksFolder))
        {
            _ = Chattr("-i", TasksFolder);
        }

        _temp.Dispose();
    }

    [Fact]
    public async Task TasksEdit_WhoseSnapshotFails_SaysTheEditIsSavedAndWhyTheSnapshotFailed_Exit1_AndTheEditIsKept()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 2);
        string editor = _temp.Combine("edit.sh");
        await File.WriteAllTextAsync(editor, "#!/bin/sh\nsed -i 's/\"task number 1\"/\"edited at 3 a.m.\"/' \"$1\"\n", Http.Ct);
        File.SetUnixFileMode(editor, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        MakeTasksFolderUnwritable();

        StatectlRun edit = await StatectlRun.RunAsync(["tasks", "edit", "task_1", "--state-path", StatePath, "--json"],
            environment: new Dictionary<string, string> { ["EDITOR"] = editor });

        Assert.True(edit.ExitCode == 1, edit.ToString());
        JsonElement report = edit.Json();
        Assert.Equal("saved", report.GetProperty("outcome").GetString());
        Assert.Contains(TasksFolder, report.GetProperty("snapshotFailure").GetString(), StringComparison.Ordinal);
        Assert.Contains("statectl: The edit of task 'task_1' took effect and is durable (journaled), but the snapshot after it failed:", edit.Error, StringComparison.Ordinal);
        await AssertDescriptionAsync("task_1", "edited at 3 a.m.");
    }

    [Fact]
    public async Task Archive_WhoseSnapshotFails_SaysSo_Exit1_AndTheTasksAreArchived()
    {
        await WriteFinishedTaskAsync();
        MakeTasksFolderUnwritable();

        StatectlRun archive = await StatectlRun.RunAsync("archive", "--completed-before", Tomorrow, "--state-path", StatePath);

        Assert.True(archive.ExitCode == 1, archive.ToString());
        Assert.Contains("Archived 1 task(s)", archive.Output, StringComparison.Ordinal);
        Assert.Contains("statectl: The archive run took effect and is durable (journaled), but the snapshot after it failed:", archive.Error, StringComparison.Ordinal);
        Assert.Contains(TasksFolder, archive.Error, StringComparison.Ordinal);
        StatectlRun show = await StatectlRun.RunAsync("tasks", "show", "task_1", "--state-path", StatePath);
        Assert.True(show.ExitCode == 1, show.ToString());
    }

    [Fact]
    public async Task ArchiveRestore_WhoseSnapshotFails_SaysSo_Exit1_AndTheTasksAreBack()
    {
        await WriteFinishedTaskAsync();
        StatectlRun archive = await StatectlRun.RunAsync("archive", "--completed-before", Tomorrow, "--state-path", StatePath, "--json");
        Assert.True(archive.ExitCode == 0, archive.ToString());
        string file = archive.Json().GetProperty("archive").GetString()!;
        MakeTasksFolderUnwritable();

        StatectlRun restore = await StatectlRun.RunAsync("archive", "restore", file, "--state-path", StatePath, "--json");

        Assert.True(restore.ExitCode == 1, restore.ToString());
        JsonElement report = restore.Json();
        Assert.Equal(1, report.GetProperty("tasks").GetInt32());
        Assert.Contains(TasksFolder, report.GetProperty("snapshotFailure").GetString(), StringComparison.Ordinal);
        Assert.Contains("statectl: The restore of the archive took effect and is durable (journaled), but the snapshot after it failed:", restore.Error, StringComparison.Ordinal);
        await AssertDescriptionAsync("task_1", "task number 1");
    }

    private static string Tomorrow => DateTime.UtcNow.AddDays(1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>A directory whose task_1 is completed (the server stamps its completed_at now).</summary>
    private async Task WriteFinishedTaskAsync()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 2);
        await using ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]);
        using HttpResponseMessage done = await server.Client.PatchJsonAsync("/api/tasks/task_1", """{"status":"completed"}""");
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        Assert.Equal(0, await server.TerminateAsync());
    }

    private void MakeTasksFolderUnwritable() =>
        Assert.SkipUnless(Chattr("+i", TasksFolder), "chattr +i is not supported on this file system.");

    /// <summary>The task as the state holds it, read once the folder is writable again (the journal holds the change).</summary>
    private async Task AssertDescriptionAsync(string id, string description)
    {
        Assert.True(Chattr("-i", TasksFolder));
        StatectlRun show = await StatectlRun.RunAsync("tasks", "show", id, "--state-path", StatePath);
        Assert.True(show.ExitCode == 0, show.ToString());
        using JsonDocument task = JsonDocument.Parse(show.Output);
        Assert.Equal(description, task.RootElement.GetProperty("description").GetString());
    }

    private static bool Chattr(string change, string path)
    {
        using Process process = Process.Start(new ProcessStartInfo("chattr", [change, path]) { RedirectStandardError = true, UseShellExecute = false })
            ?? throw new InvalidOperationException("chattr did not start.");
        process.WaitForExit();
        return process.ExitCode == 0;
    }
}
