using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Keys;

/// <summary><c>statectl keys verify</c> opens every sealed payload where it lies, and reports each problem once, changing nothing.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class KeysVerifyTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string StatePath => _temp.Combine("state");

    private string KeyFile => _temp.Combine("keys.json");

    private Task<StatectlRun> KeysAsync(params string[] args) =>
        StatectlRun.RunAsync(["keys", .. args, "--state-path", StatePath, "--key-file", KeyFile]);

    [Fact]
    public async Task DamageRecoveryWouldNotRead_IsListedOncePerFile_WithItsOwnPath_AndNoRepairIsClaimed()
    {
        Assert.Equal(0, (await StatectlRun.RunAsync("keys", "create", KeyFile)).ExitCode);
        await ServerWrittenState.WriteAsync(StatePath, tasks: 3, keyFile: KeyFile);
        // state.json is valid, so start-up recovery would read none of these three files.
        string[] damaged = [Path.Combine(StatePath, "tasks", "task_3.json"), Path.Combine(StatePath, "reports", "report_r1.json"), Path.Combine(StatePath, "logs", "session_s1.log")];
        foreach (string file in damaged)
        {
            FlipMiddleByte(file);
        }

        Dictionary<string, byte[]> before = StateFiles.Snapshot(StatePath);

        StatectlRun run = await KeysAsync("verify", "--json");

        Assert.True(run.ExitCode == 1, run.ToString());
        List<string> problems = Problems(run);
        foreach (string file in damaged)
        {
            Assert.True(problems.Count(p => p.Contains(file, StringComparison.Ordinal)) == 1, $"'{file}' is not listed exactly once:\n{string.Join("\n", problems)}");
        }

        Assert.Equal(damaged.Length, problems.Count);
        Assert.DoesNotContain(problems, p => p.Contains("moved to", StringComparison.Ordinal) || p.Contains("was kept", StringComparison.Ordinal)
            || p.Contains(".corrupt.", StringComparison.Ordinal) || p.Contains("statepersistence-verify-", StringComparison.Ordinal));
        StateFiles.AssertUnchanged(before, StatePath);
    }

    [Fact]
    public async Task UnderARevokedKey_EverySealedFileIsListed_NotOnlyStateJson()
    {
        Assert.Equal(0, (await StatectlRun.RunAsync("keys", "create", KeyFile)).ExitCode);
        await ServerWrittenState.WriteAsync(StatePath, tasks: 3, keyFile: KeyFile);
        string first = (await KeysAsync("list", "--json")).Json().GetProperty("keys")[0].GetProperty("id").GetString()!;
        Assert.Equal(0, (await KeysAsync("rotate")).ExitCode);
        Assert.Equal(0, (await KeysAsync("retire", first, "--revoke", "--accept-unreadable")).ExitCode);
        // Every file holding an envelope (its magic) holds a payload sealed with the revoked key: nothing was rewritten since.
        string[] sealedFiles = [.. Directory.GetFiles(StatePath, "*", SearchOption.AllDirectories)
            .Where(f => File.ReadAllBytes(f).AsSpan().IndexOf("SPEV"u8) >= 0).Order(StringComparer.Ordinal)];
        Assert.Contains(Path.Combine(StatePath, "state.json"), sealedFiles);
        Assert.True(sealedFiles.Length >= 6, string.Join("\n", sealedFiles));

        StatectlRun run = await KeysAsync("verify", "--json");

        Assert.True(run.ExitCode == 1, run.ToString());
        List<string> problems = Problems(run);
        foreach (string file in sealedFiles)
        {
            Assert.True(problems.Count(p => p.Contains($"'{file}'", StringComparison.Ordinal)) == 1, $"'{file}' is not listed exactly once:\n{string.Join("\n", problems)}");
        }

        Assert.All(problems, p => Assert.Contains($"'{first}', which is revoked", p, StringComparison.Ordinal));
    }

    [Fact]
    public async Task OnPostgres_WithoutAConnectionString_IsBadUsage_NamingWhatSuppliesIt()
    {
        Assert.Equal(0, (await StatectlRun.RunAsync("keys", "create", KeyFile)).ExitCode);

        StatectlRun plain = await StatectlRun.RunAsync("keys", "verify", "--store", "postgres", "--key-file", KeyFile);
        StatectlRun json = await StatectlRun.RunAsync("keys", "verify", "--store", "postgres", "--key-file", KeyFile, "--json");
        StatectlRun byVariable = await StatectlRun.RunAsync(["keys", "verify", "--key-file", KeyFile], environment: new Dictionary<string, string> { ["StatePersistence__Store"] = "postgres" });

        // As every --store postgres command says it (StoreChoice), not a stack trace nor "not a state directory".
        const string Named = "--store postgres needs a connection string: pass --connection-string, or (best for a password) set STATEPERSISTENCE_CONNECTION_STRING.";
        Assert.True(plain.ExitCode == 2, plain.ToString());
        Assert.Equal($"statectl: {Named}\nRun 'statectl --help' for usage.", plain.Error.ReplaceLineEndings("\n").Trim());
        Assert.Empty(plain.Output);
        Assert.True(json.ExitCode == 2, json.ToString());
        Assert.Equal(Named, json.Json().GetProperty("error").GetString());
        Assert.Equal(2, json.Json().GetProperty("exitCode").GetInt32());
        Assert.True(byVariable.ExitCode == 2, byVariable.ToString());
        Assert.Contains(Named, byVariable.Error, StringComparison.Ordinal);
    }

    private static List<string> Problems(StatectlRun run) =>
        [.. run.Json().GetProperty("problems").EnumerateArray().Select(p => p.GetString()!)];

    private static void FlipMiddleByte(string file)
    {
        byte[] bytes = File.ReadAllBytes(file);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(file, bytes);
    }
}
