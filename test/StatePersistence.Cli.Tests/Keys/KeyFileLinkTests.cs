using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Keys;

/// <summary>
/// A key file given as a symbolic link (<c>/etc/sp/keys.json</c> to <c>/secure/keys.json</c>): a change goes into the
/// link's final target, under that target's lock, and the link stays a link. Before 2026-12-07 the atomic rename
/// replaced the link with a regular file, and runs through the link and through the target took different locks.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class KeyFileLinkTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public KeyFileLinkTests()
    {
        Directory.CreateDirectory(_temp.Combine("secure"));
        Directory.CreateDirectory(_temp.Combine("etc"));
    }

    public void Dispose() => _temp.Dispose();

    private string StatePath => _temp.Combine("state");

    private string Target => _temp.Combine("secure", "keys.json");

    private string Link => _temp.Combine("etc", "keys.json");

    [Fact]
    public async Task Rotate_ThroughALink_WritesTheTarget_KeepsTheLink_AndLocksTheTarget()
    {
        StatectlRun created = await StatectlRun.RunAsync("keys", "create", Target, "--json");
        Assert.True(created.ExitCode == 0, created.ToString());
        string first = created.Json().GetProperty("keyId").GetString()!;
        File.CreateSymbolicLink(Link, Path.Combine("..", "secure", "keys.json"));
        await ServerWrittenState.WriteAsync(StatePath, tasks: 1, keyFile: Link);

        StatectlRun rotated = await StatectlRun.RunAsync("keys", "rotate", "--key-file", Link, "--state-path", StatePath, "--json");

        Assert.True(rotated.ExitCode == 0, rotated.ToString());
        string second = rotated.Json().GetProperty("keyId").GetString()!;
        Assert.Equal(first, rotated.Json().GetProperty("previousKeyId").GetString());
        Assert.Equal(Path.Combine("..", "secure", "keys.json"), new FileInfo(Link).LinkTarget);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Target));
        Assert.True(File.Exists(Target + ".lock"), "the lock was not taken on the target");
        Assert.False(File.Exists(Link + ".lock"), "the lock was taken on the link");
        Assert.DoesNotContain(Directory.EnumerateFiles(_temp.Combine("etc")), f => f != Link);

        // What reads the target (a server or statectl given the real path) sees the new key, and the state still opens.
        StatectlRun listed = await StatectlRun.RunAsync("keys", "list", "--key-file", Target, "--state-path", StatePath, "--json");
        Assert.True(listed.ExitCode == 0, listed.ToString());
        Dictionary<string, JsonElement> keys = listed.Json().GetProperty("keys").EnumerateArray().ToDictionary(k => k.GetProperty("id").GetString()!);
        Assert.Equal("active", keys[second].GetProperty("state").GetString());
        Assert.Equal("retired", keys[first].GetProperty("state").GetString());
        StatectlRun shown = await StatectlRun.RunAsync("tasks", "show", "task_1", "--key-file", Target, "--state-path", StatePath);
        Assert.True(shown.ExitCode == 0, shown.ToString());
    }

    [Fact]
    public async Task Rotate_ThroughADanglingLink_IsRefusedNamingTheLinkAndItsTarget_AndCreatesNothing()
    {
        File.CreateSymbolicLink(Link, Target);

        StatectlRun rotated = await StatectlRun.RunAsync("keys", "rotate", "--key-file", Link, "--state-path", StatePath);

        Assert.True(rotated.ExitCode == 1, rotated.ToString());
        Assert.Contains($"The key file '{Link}' is a symbolic link to '{Target}', which does not exist", rotated.Error, StringComparison.Ordinal);
        Assert.Equal(Target, new FileInfo(Link).LinkTarget);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_temp.Combine("secure")));
        Assert.Equal([Link], Directory.EnumerateFileSystemEntries(_temp.Combine("etc")));
    }
    [Fact]
    public async Task Create_ThroughADanglingLink_CreatesTheTarget_AndKeepsTheLink()
    {
        File.CreateSymbolicLink(Link, Target);

        StatectlRun created = await StatectlRun.RunAsync("keys", "create", Link, "--json");

        Assert.True(created.ExitCode == 0, created.ToString());
        Assert.Equal(Target, new FileInfo(Link).LinkTarget);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Target));
        Assert.Equal(created.Json().GetProperty("keyId").GetString(), StatePersistence.Encryption.EncryptionKeyFile.Read(Target).Active.Id);

        StatectlRun again = await StatectlRun.RunAsync("keys", "create", Link);
        Assert.True(again.ExitCode == 1, again.ToString());
        Assert.Contains($"The key file '{Target}' exists already", again.Error, StringComparison.Ordinal);
    }
}
