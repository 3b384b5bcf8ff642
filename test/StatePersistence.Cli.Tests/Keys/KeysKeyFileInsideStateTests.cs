using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Keys;

/// <summary>
/// Every <c>keys</c> change refuses a key file inside the state directory, as <c>keys create</c> always did: a copy or
/// backup of the directory would carry its own key. Before, <c>rotate</c>, <c>retire</c> (and its
/// <c>--revoke</c>) and <c>disable</c> changed such a file without a word.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class KeysKeyFileInsideStateTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string StatePath => _temp.Combine("state");

    [Theory]
    [InlineData("rotate")]
    [InlineData("disable")]
    [InlineData("retire RETIRED")]
    [InlineData("retire RETIRED --revoke")]
    [InlineData("retire RETIRED --revoke --accept-unreadable")]
    public async Task AChange_OfAKeyFileInsideTheStateDirectory_IsRefused_NamingBothPaths_AndChangesNothing(string change)
    {
        // Made outside (create refuses inside), then moved in, as an operator's copy might be.
        string outside = _temp.Combine("keys.json");
        StatectlRun created = await StatectlRun.RunAsync("keys", "create", outside, "--json");
        Assert.True(created.ExitCode == 0, created.ToString());
        string retired = created.Json().GetProperty("keyId").GetString()!;
        Assert.Equal(0, (await StatectlRun.RunAsync("keys", "rotate", "--key-file", outside)).ExitCode);
        Directory.CreateDirectory(Path.Combine(StatePath, "tasks"));
        string inside = Path.Combine(StatePath, "keys.json");
        File.Move(outside, inside);
        byte[] before = File.ReadAllBytes(inside);
        string[] args = [.. change.Split(' ').Select(a => a == "RETIRED" ? retired : a)];

        StatectlRun refused = await StatectlRun.RunAsync(["keys", .. args, "--key-file", inside, "--state-path", StatePath]);
        StatectlRun refusedJson = await StatectlRun.RunAsync(["keys", .. args, "--key-file", inside, "--state-path", StatePath, "--json"]);

        Assert.True(refused.ExitCode == 1, refused.ToString());
        Assert.Contains($"The key file '{inside}' is inside the state directory '{StatePath}'", refused.Error.ReplaceLineEndings(""), StringComparison.Ordinal);
        Assert.True(refusedJson.ExitCode == 1, refusedJson.ToString());
        Assert.Contains($"'{inside}' is inside the state directory", refusedJson.Json().GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(inside));
    }
}
