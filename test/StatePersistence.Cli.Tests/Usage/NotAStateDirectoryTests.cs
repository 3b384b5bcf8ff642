using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Usage;

/// <summary>
/// A command that changes a state directory, pointed at an empty directory (a mistyped path, the mount point of a volume
/// that did not mount): refused naming it, exit 1, and the directory stays empty. Opening it would create the store's
/// files and report success (a rebuild of 0 tasks, nothing to archive, nothing to migrate) on a new, empty state.
/// </summary>
public sealed class NotAStateDirectoryTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    [Theory]
    [InlineData("rebuild")]
    [InlineData("archive", "--completed-before", "2024-05-01")]
    [InlineData("archive", "restore", "ARCHIVE")]
    [InlineData("migrate", "apply")]
    [InlineData("tasks", "edit", "task_1")]
    public async Task AWritingCommand_OnAnEmptyDirectory_IsRefusedNamingIt_UnderJsonToo_AndCreatesNothing(params string[] command)
    {
        string empty = _temp.Combine("mnt-not-mounted");
        Directory.CreateDirectory(empty);
        string archive = _temp.Combine("tasks.20240601T020000-0000000Z.tar.gz");
        File.WriteAllText(archive, "not an archive");
        string[] args = [.. command.Select(a => a == "ARCHIVE" ? archive : a), "--state-path", empty, "--json"];

        StatectlRun run = await StatectlRun.RunAsync(args, environment: new Dictionary<string, string> { ["EDITOR"] = "true" });

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains($"'{empty}' is not a state directory", run.Error, StringComparison.Ordinal);
        JsonElement error = run.Json();
        Assert.Contains(empty, error.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, error.GetProperty("exitCode").GetInt32());
        Assert.Empty(Directory.EnumerateFileSystemEntries(empty));
    }

    [Theory]
    [InlineData("verify")]
    [InlineData("tasks", "list")]
    [InlineData("tasks", "show", "task_1")]
    [InlineData("backups", "list")]
    [InlineData("export", "EXPORT")]
    public async Task AReadingCommand_OnAnEmptyDirectory_IsRefusedNamingIt_NotAnsweredAsAnEmptyState(params string[] command)
    {
        // A mistyped path, or the mount point of a volume that did not mount: "OK: no problems" or "no tasks" there
        // would tell an operator the state is fine, or gone.
        string empty = _temp.Combine("mnt-not-mounted");
        Directory.CreateDirectory(empty);
        string export = _temp.Combine("copy.tar.gz");
        string[] args = [.. command.Select(a => a == "EXPORT" ? export : a), "--state-path", empty, "--json"];

        StatectlRun run = await StatectlRun.RunAsync(args);

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains($"'{empty}' is not a state directory", run.Error, StringComparison.Ordinal);
        Assert.Equal(1, run.Json().GetProperty("exitCode").GetInt32());
        Assert.Empty(Directory.EnumerateFileSystemEntries(empty));
        Assert.False(File.Exists(export));
    }

    public void Dispose() => _temp.Dispose();
}
