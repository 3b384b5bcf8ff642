using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Keys;

/// <summary>
/// <c>statectl keys retire KEY --revoke</c> of a key the state directory is still sealed with: the key a rotation or
/// <c>keys disable</c> has just retired seals the whole state until the re-encryption has rewritten it, and revoked, a
/// server can no longer read its own state (its next start stops on <c>state.json</c>). Refused, naming what the key
/// seals, unless <c>--accept-unreadable</c> says the operator means it. Before, it was revoked without a word.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class KeysRevokeTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string StatePath => _temp.Combine("state");

    private string KeyFile => _temp.Combine("keys.json");

    private Task<StatectlRun> KeysAsync(params string[] args) =>
        StatectlRun.RunAsync(["keys", .. args, "--state-path", StatePath, "--key-file", KeyFile]);

    [Theory]
    [InlineData("rotate")]
    [InlineData("disable")]
    public async Task Revoke_OfTheKeyTheStateIsSealedWith_IsRefused_NamingWhatItSeals_AndChangesNothing(string retiredBy)
    {
        string sealing = await CreateKeyAsync();
        await ServerWrittenState.WriteAsync(StatePath, tasks: 3, keyFile: KeyFile);
        Assert.Equal(0, (await KeysAsync(retiredBy)).ExitCode);
        byte[] keyFile = File.ReadAllBytes(KeyFile);
        Dictionary<string, byte[]> state = StateFiles.Snapshot(StatePath);

        StatectlRun refused = await KeysAsync("retire", sealing, "--revoke");
        StatectlRun refusedJson = await KeysAsync("retire", sealing, "--revoke", "--json");

        Assert.True(refused.ExitCode == 1, refused.ToString());
        string error = refused.Error.ReplaceLineEndings("");
        Assert.Contains($"The key '{sealing}' still seals", error, StringComparison.Ordinal);
        Assert.Contains($"under '{StatePath}'", error, StringComparison.Ordinal);
        Assert.Contains("--accept-unreadable", error, StringComparison.Ordinal);
        Assert.Contains($"The key '{sealing}' was not revoked", error, StringComparison.Ordinal);
        Assert.True(refusedJson.ExitCode == 1, refusedJson.ToString());
        Assert.Contains("--accept-unreadable", refusedJson.Json().GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(keyFile, File.ReadAllBytes(KeyFile));
        StateFiles.AssertUnchanged(state, StatePath);
        StatectlRun verified = await KeysAsync("verify");
        Assert.True(verified.ExitCode == 0, verified.ToString());
    }

    [Fact]
    public async Task Revoke_WithAcceptUnreadable_RevokesIt_WarningSo_AndRetiringItAgain_MakesEverythingDecrypt()
    {
        string sealing = await CreateKeyAsync();
        await ServerWrittenState.WriteAsync(StatePath, tasks: 3, keyFile: KeyFile);
        Assert.Equal(0, (await KeysAsync("rotate")).ExitCode);

        StatectlRun revoked = await KeysAsync("retire", sealing, "--revoke", "--accept-unreadable", "--json");

        Assert.True(revoked.ExitCode == 0, revoked.ToString());
        Assert.Equal("revoked", revoked.Json().GetProperty("change").GetString());
        Assert.Equal("revoked", StateOf(await KeysAsync("list", "--json"), sealing));
        Assert.Contains($"statectl: warning: the key {sealing} was revoked without looking at what it still seals", revoked.Error, StringComparison.Ordinal);
        StatectlRun unreadable = await KeysAsync("verify");
        Assert.True(unreadable.ExitCode == 1, unreadable.ToString());
        Assert.Contains($"'{sealing}', which is revoked", unreadable.Output.ReplaceLineEndings(""), StringComparison.Ordinal);

        // Revocation keeps the key's material: retired again, it opens what it sealed.
        Assert.Equal(0, (await KeysAsync("retire", sealing)).ExitCode);
        StatectlRun verified = await KeysAsync("verify");
        Assert.True(verified.ExitCode == 0, verified.ToString());
    }

    [Fact]
    public async Task Revoke_OfAKeyNothingIsSealedWith_NeedsNoConfirmation_ButAPathThatIsNoStateDirectory_IsNotTakenForOne()
    {
        string unused = await CreateKeyAsync();
        Assert.Equal(0, (await KeysAsync("rotate")).ExitCode);
        await ServerWrittenState.WriteAsync(StatePath, tasks: 2, keyFile: KeyFile);
        byte[] keyFile = File.ReadAllBytes(KeyFile);
        string missing = _temp.Combine("no-such-state");

        StatectlRun mistyped = await StatectlRun.RunAsync("keys", "retire", unused, "--revoke", "--state-path", missing, "--key-file", KeyFile);
        StatectlRun loneAccept = await KeysAsync("retire", unused, "--accept-unreadable");
        StatectlRun both = await KeysAsync("retire", unused, "--revoke", "--remove");

        Assert.True(mistyped.ExitCode == 1, mistyped.ToString());
        Assert.Contains($"'{missing}' does not exist, so keys retire --revoke cannot tell what the key still seals", mistyped.Error.ReplaceLineEndings(""), StringComparison.Ordinal);
        Assert.Contains("--accept-unreadable", mistyped.Error.ReplaceLineEndings(""), StringComparison.Ordinal);
        Assert.False(Directory.Exists(missing));
        Assert.True(loneAccept.ExitCode == 2, loneAccept.ToString());
        Assert.Contains("--accept-unreadable goes with --revoke only", loneAccept.Error, StringComparison.Ordinal);
        Assert.True(both.ExitCode == 2, both.ToString());
        Assert.Contains("--revoke and --remove are two ends for the key", both.Error, StringComparison.Ordinal);
        Assert.Equal(keyFile, File.ReadAllBytes(KeyFile));

        StatectlRun revoked = await KeysAsync("retire", unused, "--revoke");

        Assert.True(revoked.ExitCode == 0, revoked.ToString());
        Assert.DoesNotContain("warning", revoked.Error, StringComparison.Ordinal);
        Assert.Equal("revoked", StateOf(await KeysAsync("list", "--json"), unused));
        StatectlRun verified = await KeysAsync("verify");
        Assert.True(verified.ExitCode == 0, verified.ToString());
    }

    private async Task<string> CreateKeyAsync()
    {
        StatectlRun created = await StatectlRun.RunAsync("keys", "create", KeyFile, "--json");
        Assert.True(created.ExitCode == 0, created.ToString());
        return created.Json().GetProperty("keyId").GetString()!;
    }

    private static string StateOf(StatectlRun list, string keyId) =>
        list.Json().GetProperty("keys").EnumerateArray().Single(k => k.GetProperty("id").GetString() == keyId).GetProperty("state").GetString()!;
}
