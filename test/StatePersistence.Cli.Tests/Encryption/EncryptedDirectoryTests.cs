using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Encryption;

/// <summary>
/// Every command that reads payloads, on a directory the real server wrote with <c>--encryption-key-file</c>: with
/// the key (<c>--key-file</c> or <c>STATE_ENCRYPTION_KEY_FILE</c>) each reads it; without, each says how to give it
/// (one message, exit 1) and changes nothing, and <c>health</c> judges the rest of the directory instead of calling
/// it Unhealthy.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class EncryptedDirectoryTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string StatePath => _temp.Combine("state");

    private string KeyFile => _temp.Combine("keys.json");

    private Task<StatectlRun> WithKeyAsync(params string[] args) => StatectlRun.RunAsync([.. args, "--state-path", StatePath, "--key-file", KeyFile]);

    private Task<StatectlRun> WithoutKeyAsync(params string[] args) => StatectlRun.RunAsync([.. args, "--state-path", StatePath]);

    private async Task WriteEncryptedAsync()
    {
        Assert.Equal(0, (await StatectlRun.RunAsync("keys", "create", KeyFile)).ExitCode);
        await ServerWrittenState.WriteAsync(StatePath, tasks: 2, keyFile: KeyFile);
    }

    [Fact]
    public async Task WithTheKeyFile_EveryReadingCommandReadsIt_AndRebuildRebuildsIt()
    {
        await WriteEncryptedAsync();

        // rebuild first: it writes, and leaves the old state.json as a (sealed) backup for 'backups list'.
        StatectlRun rebuilt = await WithKeyAsync("rebuild");
        Assert.True(rebuilt.ExitCode == 0, rebuilt.ToString());
        var before = DirectoryContents.Read(StatePath);

        StatectlRun health = await WithKeyAsync("health", "--json");
        Assert.True(health.ExitCode == 0, health.ToString());
        Assert.Equal("Healthy", health.Json().GetProperty("status").GetString());
        Assert.Equal(2, health.Json().GetProperty("tasks").GetInt32());
        Assert.Equal(JsonValueKind.Null, health.Json().GetProperty("stateNotRead").ValueKind);
        StatectlRun verified = await WithKeyAsync("verify");
        Assert.True(verified.ExitCode == 0, verified.ToString());
        StatectlRun listed = await WithKeyAsync("tasks", "list", "--json");
        Assert.True(listed.ExitCode == 0, listed.ToString());
        Assert.Equal(2, listed.Json().GetProperty("count").GetInt32());
        StatectlRun shown = await WithKeyAsync("tasks", "show", "task_2");
        Assert.True(shown.ExitCode == 0, shown.ToString());
        Assert.Contains("task number 2", shown.Output, StringComparison.Ordinal);
        StatectlRun backups = await WithKeyAsync("backups", "list", "--json");
        Assert.True(backups.ExitCode == 0, backups.ToString());
        Assert.NotEmpty(backups.Json().GetProperty("backups").EnumerateArray());
        Assert.All(backups.Json().GetProperty("backups").EnumerateArray(), b => Assert.True(b.GetProperty("parses").GetBoolean(), backups.ToString()));
        StatectlRun status = await WithKeyAsync("migrate", "status");
        Assert.True(status.ExitCode == 0, status.ToString());
        string archive = _temp.Combine("export.tar.gz");
        StatectlRun exported = await WithKeyAsync("export", archive, "--json");
        Assert.True(exported.ExitCode == 0, exported.ToString());
        DirectoryContents.AssertUnchanged(before, StatePath);

        // The variable the server reads, instead of the option.
        StatectlRun fromVariable = await StatectlRun.RunAsync(["tasks", "list", "--state-path", StatePath],
            environment: new Dictionary<string, string> { ["STATE_ENCRYPTION_KEY_FILE"] = KeyFile });
        Assert.True(fromVariable.ExitCode == 0, fromVariable.ToString());

        // The export stays sealed; importing it reads it back with the key.
        StatectlRun imported = await StatectlRun.RunAsync("import", archive, "--state-path", _temp.Combine("restored"), "--key-file", KeyFile, "--json");
        Assert.True(imported.ExitCode == 0, imported.ToString());
        Assert.Equal(exported.Json().GetProperty("revision").GetInt64(), imported.Json().GetProperty("revision").GetInt64());

        // A restore reads the (sealed) backup before it opens the directory: with the key too.
        string backup = backups.Json().GetProperty("backups").EnumerateArray().First().GetProperty("name").GetString()!;
        StatectlRun restoredBackup = await WithKeyAsync("backups", "restore", backup, "--json");
        Assert.True(restoredBackup.ExitCode == 0, restoredBackup.ToString());
        Assert.Equal(backup, restoredBackup.Json().GetProperty("restored").GetString());
    }

    [Fact]
    public async Task WithoutTheKeyFile_EachCommandSaysToPassIt_ChangesNothing_AndHealthIsNotUnhealthy()
    {
        await WriteEncryptedAsync();
        Assert.Equal(0, (await WithKeyAsync("rebuild")).ExitCode);
        string sealedExport = _temp.Combine("sealed.tar.gz");
        Assert.Equal(0, (await WithKeyAsync("export", sealedExport)).ExitCode);
        var before = DirectoryContents.Read(StatePath);
        string archive = _temp.Combine("export.tar.gz");

        foreach (string[] command in new string[][] { ["verify"], ["tasks", "list"], ["tasks", "show", "task_1"], ["export", archive], ["backups", "list"], ["migrate", "status"], ["rebuild"] })
        {
            StatectlRun run = await WithoutKeyAsync(command);
            Assert.True(run.ExitCode == 1, string.Join(' ', command) + ": " + run);
            Assert.Contains("is encrypted", run.Error, StringComparison.Ordinal);
            Assert.Contains("--key-file FILE or set STATE_ENCRYPTION_KEY_FILE", run.Error, StringComparison.Ordinal);
            Assert.Single(run.Error.Trim().Split('\n'));
        }

        StatectlRun health = await WithoutKeyAsync("health", "--json");
        Assert.True(health.ExitCode == 0, health.ToString());
        Assert.Equal("Healthy", health.Json().GetProperty("status").GetString());
        Assert.Contains("aes-256-gcm", health.Json().GetProperty("stateNotRead").GetString(), StringComparison.Ordinal);
        Assert.Contains("--key-file", (await WithoutKeyAsync("health")).Output, StringComparison.Ordinal);
        Assert.False(File.Exists(archive));
        DirectoryContents.AssertUnchanged(before, StatePath);

        // An encrypted export is refused before anything is written, not after every file is.
        string restored = _temp.Combine("restored");
        StatectlRun import = await StatectlRun.RunAsync("import", sealedExport, "--state-path", restored);
        Assert.True(import.ExitCode == 1, import.ToString());
        Assert.Contains($"The archive '{sealedExport}' is encrypted", import.Error, StringComparison.Ordinal);
        Assert.Contains("--key-file FILE or set STATE_ENCRYPTION_KEY_FILE", import.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(restored));
    }
}
