using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Keys;

/// <summary><c>statectl keys</c> as a real process, on directories the real server wrote with encryption on.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class KeysCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string StatePath => _temp.Combine("state");

    private string KeyFile => _temp.Combine("keys.json");

    private Task<StatectlRun> KeysAsync(params string[] args) =>
        StatectlRun.RunAsync(["keys", .. args, "--state-path", StatePath, "--key-file", KeyFile]);

    [Fact]
    public async Task CreateListVerifyRotateRetire_OnAnEncryptedServerDirectory()
    {
        StatectlRun created = await StatectlRun.RunAsync("keys", "create", KeyFile, "--state-path", StatePath, "--json");
        Assert.True(created.ExitCode == 0, created.ToString());
        string first = created.Json().GetProperty("keyId").GetString()!;
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(KeyFile));
        string material = File.ReadAllText(KeyFile).Split("\"material\": \"")[1].Split('"')[0];
        Assert.DoesNotContain(material, created.Output + created.Error, StringComparison.Ordinal);
        await ServerWrittenState.WriteAsync(StatePath, tasks: 3, keyFile: KeyFile);

        StatectlRun listed = await KeysAsync("list", "--json");
        Assert.True(listed.ExitCode == 0, listed.ToString());
        JsonElement key = Assert.Single(listed.Json().GetProperty("keys").EnumerateArray());
        Assert.Equal(first, key.GetProperty("id").GetString());
        Assert.Equal("active", key.GetProperty("state").GetString());
        Assert.True(key.GetProperty("payloads").GetInt64() >= 6, listed.ToString());
        Assert.Equal(0, listed.Json().GetProperty("clearFiles").GetInt64());

        StatectlRun verified = await KeysAsync("verify", "--json");
        Assert.True(verified.ExitCode == 0, verified.ToString());
        Assert.True(verified.Json().GetProperty("ok").GetBoolean());

        StatectlRun rotated = await KeysAsync("rotate", "--json");
        Assert.True(rotated.ExitCode == 0, rotated.ToString());
        string second = rotated.Json().GetProperty("keyId").GetString()!;
        Assert.Equal(first, rotated.Json().GetProperty("previousKeyId").GetString());
        StatectlRun after = await KeysAsync("list", "--json");
        Dictionary<string, JsonElement> keys = after.Json().GetProperty("keys").EnumerateArray().ToDictionary(k => k.GetProperty("id").GetString()!);
        Assert.Equal("retired", keys[first].GetProperty("state").GetString());
        Assert.Equal("active", keys[second].GetProperty("state").GetString());
        Assert.Equal(0, keys[second].GetProperty("payloads").GetInt64());
        Assert.Contains(first, (await KeysAsync("list")).Output, StringComparison.Ordinal);

        // The retired key still protects data: removing it is refused and the key file stays as it was.
        byte[] before = File.ReadAllBytes(KeyFile);
        StatectlRun removal = await KeysAsync("retire", first, "--remove");
        Assert.Equal(1, removal.ExitCode);
        Assert.Contains($"'{first}'", removal.Error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(KeyFile));
        Assert.True((await KeysAsync("verify")).ExitCode == 0);

        // Revoked all the same (--accept-unreadable), the data under it no longer opens: verify says so, naming the key.
        Assert.Equal(0, (await KeysAsync("retire", first, "--revoke", "--accept-unreadable")).ExitCode);
        StatectlRun refused = await KeysAsync("verify", "--json");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains(first, refused.Output, StringComparison.Ordinal);
        Assert.Contains("revoked", refused.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_WithAKeyFileThatLacksTheKey_AndOnADamagedFile_ExitsWith1_AndChangesNothing()
    {
        Assert.Equal(0, (await StatectlRun.RunAsync("keys", "create", KeyFile)).ExitCode);
        await ServerWrittenState.WriteAsync(StatePath, tasks: 2, keyFile: KeyFile);
        string keyId = (await KeysAsync("list", "--json")).Json().GetProperty("keys")[0].GetProperty("id").GetString()!;
        string other = _temp.Combine("other.json");
        Assert.Equal(0, (await StatectlRun.RunAsync("keys", "create", other)).ExitCode);

        StatectlRun lacking = await StatectlRun.RunAsync("keys", "verify", "--state-path", StatePath, "--key-file", other);
        Assert.Equal(1, lacking.ExitCode);
        Assert.Contains($"'{keyId}'", lacking.Output, StringComparison.Ordinal);
        StatectlRun listedWithOther = await StatectlRun.RunAsync("keys", "list", "--state-path", StatePath, "--key-file", other, "--json");
        Assert.Equal(1, listedWithOther.ExitCode);
        Assert.Contains(listedWithOther.Json().GetProperty("keys").EnumerateArray(), k => k.GetProperty("id").GetString() == keyId && k.GetProperty("state").GetString() == "missing");

        string task = Path.Combine(StatePath, "tasks", "task_1.json");
        byte[] bytes = File.ReadAllBytes(task);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(task, bytes);
        File.Delete(Path.Combine(StatePath, "state.json"));
        Dictionary<string, byte[]> files = Directory.GetFiles(StatePath, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllBytes);

        StatectlRun damaged = await KeysAsync("verify");
        Assert.Equal(1, damaged.ExitCode);
        Assert.Contains(task, damaged.Output.ReplaceLineEndings(""), StringComparison.Ordinal);
        Assert.Equal(files.Keys.Order(), Directory.GetFiles(StatePath, "*", SearchOption.AllDirectories).Order());
        Assert.All(files, f => Assert.Equal(f.Value, File.ReadAllBytes(f.Key)));
    }

    [Fact]
    public async Task List_OfAStateDirectoryThatDoesNotExist_Exits1_NamingIt_InsteadOfZeroPayloads()
    {
        Assert.Equal(0, (await StatectlRun.RunAsync("keys", "create", KeyFile)).ExitCode);
        string missing = _temp.Combine("no-such-state");

        StatectlRun run = await StatectlRun.RunAsync("keys", "list", "--state-path", missing, "--key-file", KeyFile, "--json");

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains($"'{missing}' does not exist", run.Json().GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains(missing, run.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(missing));
    }

    [Fact]
    public async Task BadUse_CreateInsideTheStateDirectory_Exits1_AndNoKeyFile_Exits2()
    {
        Directory.CreateDirectory(StatePath);
        string inside = Path.Combine(StatePath, "keys.json");

        StatectlRun insideRun = await StatectlRun.RunAsync("keys", "create", inside, "--state-path", StatePath);
        StatectlRun noKeyFile = await StatectlRun.RunAsync("keys", "list", "--state-path", StatePath);

        Assert.Equal(1, insideRun.ExitCode);
        Assert.Contains("inside the state directory", insideRun.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(inside));
        Assert.Equal(2, noKeyFile.ExitCode);
        Assert.Contains("--key-file", noKeyFile.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VerifyHelp_SaysItReadsWhereItLies_AndADirectoryGivenAsTheKeyFile_IsNamedAsOne()
    {
        Directory.CreateDirectory(StatePath);
        string directory = _temp.Combine("keys-dir");
        Directory.CreateDirectory(directory);

        StatectlRun help = await StatectlRun.RunAsync("keys", "verify", "--help");
        StatectlRun listed = await StatectlRun.RunAsync("keys", "list", "--state-path", StatePath, "--key-file", directory);

        Assert.DoesNotContain("private copy", help.Output, StringComparison.Ordinal);
        Assert.Contains("where it lies", help.Output, StringComparison.Ordinal);
        Assert.Equal(1, listed.ExitCode);
        Assert.Contains($"'{directory}' is a directory", listed.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("does not exist", listed.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_ThroughASymbolicLinkIntoTheStateDirectory_IsRefused()
    {
        Directory.CreateDirectory(StatePath);
        string link = Path.Combine(Path.GetDirectoryName(StatePath)!, "keys-dir");
        Directory.CreateSymbolicLink(link, StatePath);
        string viaLink = Path.Combine(link, "keys.json");

        StatectlRun run = await StatectlRun.RunAsync("keys", "create", viaLink, "--state-path", StatePath);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("inside the state directory", run.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(StatePath));
    }
}
