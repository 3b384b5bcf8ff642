using System.Net;
using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Keys;

/// <summary>
/// What <c>statectl keys list</c> counts under each key, and what <c>keys retire --remove</c> therefore allows: files
/// moved aside count (separately), a directory that is not a state directory is refused, a damaged header is damage
/// and not a missing key, and files the store never reads do not count. Real statectl and server processes.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class KeysUsageTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string StatePath => _temp.Combine("state");

    private string KeyFile => _temp.Combine("keys.json");

    private Task<StatectlRun> KeysAsync(params string[] args) =>
        StatectlRun.RunAsync(["keys", .. args, "--state-path", StatePath, "--key-file", KeyFile]);

    [Fact]
    public async Task FilesMovedAside_AreCountedPerKey_AndRefuseItsRemoval_UnlessTheirLossIsAccepted()
    {
        StatectlRun created = await StatectlRun.RunAsync("keys", "create", KeyFile, "--json");
        string oldKey = created.Json().GetProperty("keyId").GetString()!;
        await ServerWrittenState.WriteAsync(StatePath, tasks: 2, keyFile: KeyFile);
        byte[] taskUnderOldKey = File.ReadAllBytes(Path.Combine(StatePath, "tasks", "task_1.json"));
        byte[] logUnderOldKey = File.ReadAllBytes(Path.Combine(StatePath, "logs", "session_s1.log"));
        Assert.Equal(0, (await KeysAsync("rotate")).ExitCode);
        await ReencryptEverythingAsync(oldKey);

        // What recovery keeps aside: a damaged copy, and a session log's torn tail (which may hold acknowledged data).
        string corrupt = Path.Combine(StatePath, "tasks", "task_1.corrupt.20261203T101010-0000000Z.json");
        string tail = Path.Combine(StatePath, "logs", "session_s1.log.tail.corrupt.20261203T101010-0000000Z.json");
        File.WriteAllBytes(corrupt, taskUnderOldKey);
        File.WriteAllBytes(tail, logUnderOldKey);

        StatectlRun listed = await KeysAsync("list", "--json");
        Assert.True(listed.ExitCode == 0, listed.ToString());
        JsonElement old = KeyRow(listed, oldKey);
        Assert.Equal(0, old.GetProperty("payloads").GetInt64());
        Assert.Equal(2, old.GetProperty("movedAside").GetInt64());
        Assert.Contains("moved aside", (await KeysAsync("list")).Output, StringComparison.Ordinal);

        byte[] before = File.ReadAllBytes(KeyFile);
        StatectlRun refused = await KeysAsync("retire", oldKey, "--remove");
        Assert.True(refused.ExitCode == 1, refused.ToString());
        Assert.Contains(corrupt, refused.Error, StringComparison.Ordinal);
        Assert.Contains(tail, refused.Error, StringComparison.Ordinal);
        Assert.Contains("--lose-moved-aside", refused.Error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(KeyFile));

        StatectlRun removed = await KeysAsync("retire", oldKey, "--remove", "--lose-moved-aside", "--json");
        Assert.True(removed.ExitCode == 0, removed.ToString());
        Assert.DoesNotContain(oldKey, File.ReadAllText(KeyFile), StringComparison.Ordinal);
        Assert.Equal("removed", removed.Json().GetProperty("change").GetString());
        // The files given up are named where the operator sees them (before 2026-12-07 the warning went to no logger).
        Assert.Contains($"statectl: warning: Encryption key {oldKey} removed although it seals 2 file(s) moved aside (*.corrupt.*) and 0 file(s) kept by a migration rollback", removed.Error, StringComparison.Ordinal);
        Assert.Contains(corrupt, removed.Error, StringComparison.Ordinal);
        Assert.Contains(tail, removed.Error, StringComparison.Ordinal);
    }

    /// <summary>
    /// What a migration rollback took out of the state (the saves made since the migration, kept in
    /// <c>rolled-back.&lt;timestamp&gt;/</c> at their own paths) is the application's data that nothing re-encrypts:
    /// counted per key apart, and it refuses the key's removal as files moved aside do. Before 2026-12-07 it was counted
    /// nowhere: <c>keys list</c> showed the old key unused, and <c>--remove</c> removed it.
    /// </summary>
    [Fact]
    public async Task FilesKeptByAMigrationRollback_AreCountedPerKey_AndRefuseItsRemoval_UnlessTheirLossIsAccepted()
    {
        StatectlRun created = await StatectlRun.RunAsync("keys", "create", KeyFile, "--json");
        string oldKey = created.Json().GetProperty("keyId").GetString()!;
        await ServerWrittenState.WriteAsync(StatePath, tasks: 2, keyFile: KeyFile);
        byte[] taskUnderOldKey = File.ReadAllBytes(Path.Combine(StatePath, "tasks", "task_1.json"));
        byte[] logUnderOldKey = File.ReadAllBytes(Path.Combine(StatePath, "logs", "session_s1.log"));
        Assert.Equal(0, (await KeysAsync("rotate")).ExitCode);
        await ReencryptEverythingAsync(oldKey);

        // As 'migrate rollback' keeps them: each file saved since the migration at its own relative path.
        string rolledBack = Path.Combine(StatePath, "rolled-back.20261203T101010123Z");
        string task = Path.Combine(rolledBack, "tasks", "task_1.json");
        string log = Path.Combine(rolledBack, "logs", "session_s1.log");
        Directory.CreateDirectory(Path.GetDirectoryName(task)!);
        Directory.CreateDirectory(Path.GetDirectoryName(log)!);
        File.WriteAllBytes(task, taskUnderOldKey);
        File.WriteAllBytes(log, logUnderOldKey);

        StatectlRun listed = await KeysAsync("list", "--json");
        Assert.True(listed.ExitCode == 0, listed.ToString());
        JsonElement old = KeyRow(listed, oldKey);
        Assert.Equal(0, old.GetProperty("payloads").GetInt64());
        Assert.Equal(0, old.GetProperty("movedAside").GetInt64());
        Assert.Equal(2, old.GetProperty("rolledBack").GetInt64());
        Assert.Contains("rolled back", (await KeysAsync("list")).Output, StringComparison.Ordinal);

        byte[] before = File.ReadAllBytes(KeyFile);
        StatectlRun refused = await KeysAsync("retire", oldKey, "--remove");
        Assert.True(refused.ExitCode == 1, refused.ToString());
        Assert.Contains(task, refused.Error, StringComparison.Ordinal);
        Assert.Contains(log, refused.Error, StringComparison.Ordinal);
        Assert.Contains("--lose-moved-aside", refused.Error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(KeyFile));

        StatectlRun removed = await KeysAsync("retire", oldKey, "--remove", "--lose-moved-aside", "--json");
        Assert.True(removed.ExitCode == 0, removed.ToString());
        Assert.DoesNotContain(oldKey, File.ReadAllText(KeyFile), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ADirectoryThatIsNotAStateDirectory_IsRefused_ByListAndByRemove_NamingIt()
    {
        Assert.Equal(0, (await StatectlRun.RunAsync("keys", "create", KeyFile)).ExitCode);
        Assert.Equal(0, (await StatectlRun.RunAsync("keys", "rotate", "--key-file", KeyFile)).ExitCode);
        string retired = JsonDocument.Parse(File.ReadAllText(KeyFile)).RootElement.GetProperty("keys")[0].GetProperty("id").GetString()!;
        string empty = _temp.Combine("empty");
        string foreign = _temp.Combine("etc-like");
        Directory.CreateDirectory(empty);
        Directory.CreateDirectory(foreign);
        File.WriteAllText(Path.Combine(foreign, "hosts"), "127.0.0.1 localhost\n");
        byte[] before = File.ReadAllBytes(KeyFile);

        foreach (string directory in new[] { empty, foreign })
        {
            StatectlRun listed = await StatectlRun.RunAsync("keys", "list", "--state-path", directory, "--key-file", KeyFile);
            StatectlRun removed = await StatectlRun.RunAsync("keys", "retire", retired, "--remove", "--state-path", directory, "--key-file", KeyFile);

            Assert.True(listed.ExitCode == 1, listed.ToString());
            Assert.Contains($"'{directory}' is not a state directory", listed.Error, StringComparison.Ordinal);
            Assert.True(removed.ExitCode == 1, removed.ToString());
            Assert.Contains($"'{directory}' is not a state directory", removed.Error, StringComparison.Ordinal);
            Assert.Equal(before, File.ReadAllBytes(KeyFile));
        }
    }

    [Fact]
    public async Task AForeignFolderInsideTasks_IsNotCounted()
    {
        StatectlRun created = await StatectlRun.RunAsync("keys", "create", KeyFile, "--json");
        string key = created.Json().GetProperty("keyId").GetString()!;
        await ServerWrittenState.WriteAsync(StatePath, tasks: 3, keyFile: KeyFile);
        long payloads = KeyRow(await KeysAsync("list", "--json"), key).GetProperty("payloads").GetInt64();

        // A copied tasks/ folder inside tasks/: the store never reads it, re-encryption never rewrites it.
        string copy = Path.Combine(StatePath, "tasks", "tasks");
        Directory.CreateDirectory(copy);
        foreach (string file in Directory.GetFiles(Path.Combine(StatePath, "tasks")))
        {
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        }

        StatectlRun withCopy = await KeysAsync("list", "--json");
        Assert.True(withCopy.ExitCode == 0, withCopy.ToString());
        Assert.Equal(payloads, KeyRow(withCopy, key).GetProperty("payloads").GetInt64());
    }

    [Fact]
    public async Task AFlippedByteInAKeyIdHeader_IsDamage_NotAMissingKey()
    {
        Assert.Equal(0, (await StatectlRun.RunAsync("keys", "create", KeyFile)).ExitCode);
        await ServerWrittenState.WriteAsync(StatePath, tasks: 3, keyFile: KeyFile);

        // One bit of the key id in a sealed task file's header: 8 fixed bytes, the codec name, then the key id.
        string task = Path.Combine(StatePath, "tasks", "task_2.json");
        byte[] bytes = File.ReadAllBytes(task);
        bytes[8 + bytes[6] + 2] ^= 0x01;
        File.WriteAllBytes(task, bytes);

        StatectlRun damaged = await KeysAsync("list", "--json");
        Assert.True(damaged.ExitCode == 1, damaged.ToString());
        Assert.DoesNotContain(damaged.Json().GetProperty("keys").EnumerateArray(), k => k.GetProperty("state").GetString() == "missing");
        Assert.Equal([task], damaged.Json().GetProperty("damagedFiles").EnumerateArray().Select(f => f.GetString()));
        Assert.Contains(task, (await KeysAsync("list")).Output.ReplaceLineEndings(""), StringComparison.Ordinal);
    }

    /// <summary>
    /// A symbolic link among the store's files whose target is gone holds nothing under any key: listed as a broken
    /// link (exit 1) with the rest counted, and no obstacle to removing a key. It was taken for a file a rotation had
    /// moved during the count, every pass listed it again, and list and --remove said "try again" for ever.
    /// </summary>
    [Fact]
    public async Task ABrokenLinkAmongTheFiles_IsListedAsSuch_AndTheCountIsGiven()
    {
        StatectlRun created = await StatectlRun.RunAsync("keys", "create", KeyFile, "--json");
        string key = created.Json().GetProperty("keyId").GetString()!;
        await ServerWrittenState.WriteAsync(StatePath, tasks: 3, keyFile: KeyFile);
        long payloads = KeyRow(await KeysAsync("list", "--json"), key).GetProperty("payloads").GetInt64();
        string link = Path.Combine(StatePath, "tasks", "task_9.json");
        File.CreateSymbolicLink(link, _temp.Combine("moved-away.json"));

        StatectlRun listed = await KeysAsync("list", "--json");
        Assert.True(listed.ExitCode == 1, listed.ToString());
        Assert.Equal(payloads, KeyRow(listed, key).GetProperty("payloads").GetInt64());
        Assert.Equal([link], listed.Json().GetProperty("brokenLinks").EnumerateArray().Select(f => f.GetString()));
        string text = (await KeysAsync("list")).Output.ReplaceLineEndings("");
        Assert.Contains("broken link", text, StringComparison.Ordinal);
        Assert.Contains(_temp.Combine("moved-away.json"), text, StringComparison.Ordinal);

        Assert.Equal(0, (await KeysAsync("rotate")).ExitCode);
        StatectlRun refused = await KeysAsync("retire", key, "--remove");
        Assert.True(refused.ExitCode == 1, refused.ToString());
        Assert.Contains($"still seals {payloads} payloads", refused.Error, StringComparison.Ordinal);
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
