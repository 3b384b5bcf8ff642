using System.Diagnostics;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Usage;

/// <summary>
/// A command that changes a state directory, run as root (sudo, at 3 a.m.) on the directory of a server that runs as its
/// own user: every file the store writes is mode 0600 and belongs to whoever wrote it, so the journal segment,
/// state.json and item files the command wrote were root's, and the server, started again as its user, refused to open
/// the directory ("Access to the path '…/state.json' is denied", exit 2). Now the command is refused before it opens
/// anything, naming both users and what to run, and the directory is as it was. Needs root (to run as one user on
/// another's directory); the directory is given to <c>nobody</c> (uid 65534).
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class AnotherUsersDirectoryTests : IDisposable
{
    private const string Nobody = "65534";

    private readonly TempDirectory _temp = new();

    public AnotherUsersDirectoryTests() =>
        Assert.SkipUnless(OperatingSystem.IsLinux() && Environment.IsPrivilegedProcess, "Running as one user on another user's directory takes root.");

    private string StatePath => _temp.Combine("state");

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("rebuild")]
    [InlineData("tasks", "edit", "task_1")]
    [InlineData("archive", "--completed-before", "2030-01-01")]
    [InlineData("archive", "restore", "tasks.20240601T020000-0000000Z.tar.gz")]
    [InlineData("backups", "restore", "BACKUP")]
    [InlineData("migrate", "apply")]
    [InlineData("migrate", "rollback")]
    public async Task AWritingCommand_RunAsRoot_OnTheDirectoryOfAnotherUsersServer_IsRefusedNamingBoth_AndWritesNothing(params string[] command)
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 2);
        // A change and a second stop: its snapshot makes the first one a backup, for 'backups restore' to name.
        await using (ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath]))
        {
            using HttpResponseMessage created = await server.Client.PostJsonAsync("/api/tasks", """{"id":"task_3","description":"created later"}""");
            Assert.Equal(System.Net.HttpStatusCode.Created, created.StatusCode);
            Assert.Equal(0, await server.TerminateAsync());
        }

        string backup = Path.GetFileName(Directory.GetFiles(StatePath, "state.backup.*.json").Single());
        await GiveToNobodyAsync(StatePath);
        SortedDictionary<string, byte[]> before = DirectoryContents.Read(StatePath);

        StatectlRun run = await StatectlRun.RunAsync([.. command.Select(a => a == "BACKUP" ? backup : a), "--state-path", StatePath, "--json"],
            environment: new Dictionary<string, string> { ["EDITOR"] = "true" });

        Assert.True(run.ExitCode == 1, run.ToString());
        string error = run.Json().GetProperty("error").GetString()!;
        Assert.Contains($"The state directory '{StatePath}' belongs to the user 'nobody' (uid {Nobody})", error, StringComparison.Ordinal);
        Assert.Contains("statectl runs as 'root' (uid 0)", error, StringComparison.Ordinal);
        Assert.Contains("sudo -u nobody statectl", error, StringComparison.Ordinal);
        Assert.Contains("nothing was changed", error, StringComparison.Ordinal);
        DirectoryContents.AssertUnchanged(before, StatePath);
        Assert.Equal("", await NotOwnedByNobodyAsync(StatePath));
    }

    [Fact]
    public async Task Import_RunAsRoot_IntoAnEmptyDirectoryMadeReadyForAnotherUsersServer_IsRefused_AndWritesNothing()
    {
        string source = _temp.Combine("source");
        await ServerWrittenState.WriteAsync(source, tasks: 2);
        string archive = _temp.Combine("state.tar.gz");
        StatectlRun export = await StatectlRun.RunAsync("export", archive, "--state-path", source);
        Assert.True(export.ExitCode == 0, export.ToString());
        Directory.CreateDirectory(StatePath);
        await GiveToNobodyAsync(StatePath);

        StatectlRun run = await StatectlRun.RunAsync("import", archive, "--state-path", StatePath);

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains($"The state directory '{StatePath}' belongs to the user 'nobody' (uid {Nobody})", run.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(StatePath));
    }

    [Fact]
    public async Task AReadingCommand_RunAsRoot_OnAnotherUsersDirectory_StillRuns()
    {
        await ServerWrittenState.WriteAsync(StatePath, tasks: 2);
        await GiveToNobodyAsync(StatePath);

        StatectlRun run = await StatectlRun.RunAsync("verify", "--state-path", StatePath);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("", await NotOwnedByNobodyAsync(StatePath));
    }

    private static async Task GiveToNobodyAsync(string path) => Assert.Equal("", await RunAsync("chown", "-R", $"{Nobody}:{Nobody}", path));

    /// <summary>The paths under <paramref name="path"/> (itself included) that do not belong to uid 65534, one a line.</summary>
    private static Task<string> NotOwnedByNobodyAsync(string path) => RunAsync("find", path, "!", "-uid", Nobody, "-print");

    private static async Task<string> RunAsync(string program, params string[] arguments)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(info) ?? throw new InvalidOperationException($"{program} did not start.");
        string output = await process.StandardOutput.ReadToEndAsync(Http.Ct);
        string error = await process.StandardError.ReadToEndAsync(Http.Ct);
        await process.WaitForExitAsync(Http.Ct);
        Assert.True(process.ExitCode == 0, $"{program} exit {process.ExitCode}: {error}");
        return output;
    }
}
