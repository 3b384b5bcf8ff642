using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Keys;

/// <summary>
/// What an operator typing fast gets from <c>keys</c> changes: a key id the file lacks is refused naming the ids it
/// holds (before, only the id typed, leaving a 'keys list' to find the right one), and a mistyped key file path is
/// refused without leaving a <c>&lt;path&gt;.lock</c> behind (before, each such run made one beside the key files).
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class KeysBadInputTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string StatePath => _temp.Combine("state");

    private string KeyFile => _temp.Combine("keys.json");

    [Theory]
    [InlineData("")]
    [InlineData("--revoke")]
    [InlineData("--remove")]
    public async Task Retire_OfAKeyIdTheFileLacks_NamesTheIdsItHolds_AndChangesNothing(string how)
    {
        StatectlRun created = await StatectlRun.RunAsync("keys", "create", KeyFile, "--json");
        string first = created.Json().GetProperty("keyId").GetString()!;
        string second = (await StatectlRun.RunAsync("keys", "rotate", "--key-file", KeyFile, "--json")).Json().GetProperty("keyId").GetString()!;
        Directory.CreateDirectory(Path.Combine(StatePath, "tasks"));
        byte[] before = File.ReadAllBytes(KeyFile);
        string typed = first.ToUpperInvariant();

        StatectlRun refused = await StatectlRun.RunAsync(["keys", "retire", typed, .. how.Length > 0 ? [how] : Array.Empty<string>(),
            "--key-file", KeyFile, "--state-path", StatePath, "--json"]);

        Assert.True(refused.ExitCode == 1, refused.ToString());
        string error = refused.Json().GetProperty("error").GetString()!;
        Assert.Contains($"does not hold the key '{typed}'; it holds {first} (retired), {second} (active).", error, StringComparison.Ordinal);
        Assert.Contains($"The key file '{KeyFile}' was not changed.", error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(KeyFile));
    }

    [Theory]
    [InlineData("rotate")]
    [InlineData("disable")]
    [InlineData("retire key-20261206-00000000")]
    [InlineData("retire key-20261206-00000000 --revoke")]
    [InlineData("retire key-20261206-00000000 --remove")]
    public async Task AChange_OfAKeyFileThatDoesNotExist_IsRefused_NamingIt_AndLeavesNoLockFileBehind(string change)
    {
        Directory.CreateDirectory(Path.Combine(StatePath, "tasks"));
        string mistyped = _temp.Combine("kyes.json");

        StatectlRun refused = await StatectlRun.RunAsync(["keys", .. change.Split(' '), "--key-file", mistyped, "--state-path", StatePath]);

        Assert.True(refused.ExitCode == 1, refused.ToString());
        Assert.Contains($"The key file '{mistyped}' does not exist", refused.Error.ReplaceLineEndings(""), StringComparison.Ordinal);
        Assert.Equal(["state"], Directory.GetFileSystemEntries(_temp.Path).Select(Path.GetFileName));
    }
}
