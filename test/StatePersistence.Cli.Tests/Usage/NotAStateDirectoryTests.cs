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
    [InlineData("migrate", "rollback")]
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
    [InlineData("du")]
    [InlineData("migrate", "status")]
    [InlineData("keys", "verify", "--key-file", "KEYS")]
    public async Task AReadingCommand_OnAnEmptyDirectory_IsRefusedNamingIt_NotAnsweredAsAnEmptyState(params string[] command)
    {
        // A mistyped path, or the mount point of a volume that did not mount: "OK: no problems" or "no tasks" there
        // would tell an operator the state is fine, or gone (du: 0 bytes; migrate status: a version; keys verify:
        // "everything decrypts").
        string empty = _temp.Combine("mnt-not-mounted");
        Directory.CreateDirectory(empty);
        string export = _temp.Combine("copy.tar.gz");
        string keys = _temp.Combine("keys.json");
        string[] args = [.. command.Select(a => a switch { "EXPORT" => export, "KEYS" => keys, _ => a }), "--state-path", empty, "--json"];

        StatectlRun run = await StatectlRun.RunAsync(args);

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains($"'{empty}' is not a state directory", run.Error, StringComparison.Ordinal);
        Assert.Equal(1, run.Json().GetProperty("exitCode").GetInt32());
        Assert.Empty(Directory.EnumerateFileSystemEntries(empty));
        Assert.False(File.Exists(export));
    }

    [Fact]
    public async Task Health_OfAnEmptyDirectory_IsUnhealthy_SayingItIsNoStateDirectory()
    {
        string empty = _temp.Combine("mnt-not-mounted");
        Directory.CreateDirectory(empty);

        StatectlRun run = await StatectlRun.RunAsync("health", "--state-path", empty, "--json");

        // Before: Healthy at revision 0, exit 0, where a server would start with an empty state.
        Assert.True(run.ExitCode == 1, run.ToString());
        JsonElement health = run.Json();
        Assert.Equal("Unhealthy", health.GetProperty("status").GetString());
        Assert.Contains(health.GetProperty("reasons").EnumerateArray(), r => r.GetString()!.Contains("is not a state directory", StringComparison.Ordinal));
        Assert.Empty(Directory.EnumerateFileSystemEntries(empty));
    }

    [Fact]
    public async Task ALockFileLeftOnAMistypedPath_DoesNotMakeItAStateDirectory()
    {
        // What a 'migrate rollback' on the path left before it checked: the lock and its owner, beside the operator's file.
        string mistyped = _temp.Combine("home");
        Directory.CreateDirectory(mistyped);
        await File.WriteAllTextAsync(Path.Combine(mistyped, "readme.txt"), "the operator's", TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(mistyped, ".lock"), "", TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(mistyped, ".lock.owner"), "pid 1", TestContext.Current.CancellationToken);
        string[] before = [.. Directory.EnumerateFileSystemEntries(mistyped).Order(StringComparer.Ordinal)];

        StatectlRun apply = await StatectlRun.RunAsync("migrate", "apply", "--state-path", mistyped);
        StatectlRun edit = await StatectlRun.RunAsync(["tasks", "edit", "task_1", "--state-path", mistyped], environment: new Dictionary<string, string> { ["EDITOR"] = "true" });

        // Before: the migration of a "Node 1.0.0" directory ran, wrote state.json, journal/ and pre-migration/ there
        // and made the operator's files 0600.
        Assert.True(apply.ExitCode == 1, apply.ToString());
        Assert.Contains("is not a state directory", apply.Error, StringComparison.Ordinal);
        Assert.True(edit.ExitCode == 1, edit.ToString());
        Assert.Equal(before, Directory.EnumerateFileSystemEntries(mistyped).Order(StringComparer.Ordinal));
    }

    /// <summary>A file's path given as the state directory: it read "does not exist", and the operator looked for a directory.</summary>
    [Theory]
    [InlineData("verify")]
    [InlineData("du")]
    [InlineData("rebuild")]
    [InlineData("backups", "list")]
    [InlineData("keys", "list", "--key-file", "KEYS")]
    public async Task AFileGivenAsTheStateDirectory_IsNamedAsAFile(params string[] command)
    {
        string file = _temp.Combine("state.json");
        await File.WriteAllTextAsync(file, "{}", TestContext.Current.CancellationToken);
        string keys = _temp.Combine("keys.json");
        StatePersistence.Encryption.EncryptionKeyFile.Create(keys);

        StatectlRun run = await StatectlRun.RunAsync([.. command.Select(a => a == "KEYS" ? keys : a), "--state-path", file]);

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains($"The state directory '{file}' is a file, not a directory", run.Error, StringComparison.Ordinal);
        Assert.Equal("{}", await File.ReadAllTextAsync(file, TestContext.Current.CancellationToken));
    }

    public void Dispose() => _temp.Dispose();
}
