using System.Net;
using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Keys;

/// <summary>
/// The warning of <c>keys retire --remove --lose-moved-aside</c> names each kind of file given up with its count:
/// files moved aside (<c>*.corrupt.*</c>) and files a migration rollback kept (<c>rolled-back.&lt;timestamp&gt;/</c>).
/// Before 2026-12-07 it counted both as "file(s) moved aside", so an operator looked among the <c>*.corrupt.*</c> files
/// for copies that were in <c>rolled-back.*/</c>. Real statectl and server processes.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class LoseMovedAsideWarningTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string StatePath => _temp.Combine("state");

    private string KeyFile => _temp.Combine("keys.json");

    private Task<StatectlRun> KeysAsync(params string[] args) =>
        StatectlRun.RunAsync(["keys", .. args, "--state-path", StatePath, "--key-file", KeyFile]);

    [Fact]
    public async Task TheWarning_CountsFilesMovedAside_AndFilesARollbackKept_Apart()
    {
        StatectlRun created = await StatectlRun.RunAsync("keys", "create", KeyFile, "--json");
        string oldKey = created.Json().GetProperty("keyId").GetString()!;
        await ServerWrittenState.WriteAsync(StatePath, tasks: 2, keyFile: KeyFile);
        byte[] taskUnderOldKey = File.ReadAllBytes(Path.Combine(StatePath, "tasks", "task_1.json"));
        byte[] logUnderOldKey = File.ReadAllBytes(Path.Combine(StatePath, "logs", "session_s1.log"));
        Assert.Equal(0, (await KeysAsync("rotate")).ExitCode);
        await ReencryptEverythingAsync(oldKey);

        // One damaged copy recovery kept aside, and two files a migration rollback kept.
        string corrupt = Path.Combine(StatePath, "tasks", "task_1.corrupt.20261203T101010-0000000Z.json");
        File.WriteAllBytes(corrupt, taskUnderOldKey);
        string rolledBack = Path.Combine(StatePath, "rolled-back.20261203T101010123Z");
        string task = Path.Combine(rolledBack, "tasks", "task_1.json");
        string log = Path.Combine(rolledBack, "logs", "session_s1.log");
        Directory.CreateDirectory(Path.GetDirectoryName(task)!);
        Directory.CreateDirectory(Path.GetDirectoryName(log)!);
        File.WriteAllBytes(task, taskUnderOldKey);
        File.WriteAllBytes(log, logUnderOldKey);

        StatectlRun removed = await KeysAsync("retire", oldKey, "--remove", "--lose-moved-aside", "--json");

        Assert.True(removed.ExitCode == 0, removed.ToString());
        Assert.Equal("removed", removed.Json().GetProperty("change").GetString());
        Assert.Contains($"statectl: warning: Encryption key {oldKey} removed although it seals 1 file(s) moved aside (*.corrupt.*) and 2 file(s) kept by a migration rollback (rolled-back.<timestamp>/)",
            removed.Error, StringComparison.Ordinal);
        Assert.Contains(corrupt, removed.Error, StringComparison.Ordinal);
        Assert.Contains(task, removed.Error, StringComparison.Ordinal);
        Assert.Contains(log, removed.Error, StringComparison.Ordinal);
    }

    private static JsonElement KeyRow(StatectlRun listed, string keyId) =>
        listed.Json().GetProperty("keys").EnumerateArray().Single(k => k.GetProperty("id").GetString() == keyId);

    /// <summary>Runs the server with the key file until nothing is left under <paramref name="oldKey"/> (bounded), then stops it.</summary>
    private async Task ReencryptEverythingAsync(string oldKey)
    {
        await using ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", StatePath, "--encryption-key-file", KeyFile]);
        long left = -1;
        for (int attempt = 0; attempt < 120 && left != 0; attempt++)
        {
            await Task.Delay(500, Http.Ct);
            left = KeyRow(await KeysAsync("list", "--json"), oldKey).GetProperty("payloads").GetInt64();
        }

        Assert.True(left == 0, $"payloads still under {oldKey}: {left}\n{server.Output}");
        using HttpResponseMessage read = await server.Client.GetAsync("/api/tasks/task_1", Http.Ct);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(0, await server.TerminateAsync());
    }
}
