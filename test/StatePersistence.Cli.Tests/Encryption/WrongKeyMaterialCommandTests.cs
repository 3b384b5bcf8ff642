using System.Security.Cryptography;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Encryption;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Encryption;

/// <summary>
/// Every command on a directory the real server sealed, given a key file with the right key id but other key material
/// (a mistyped key, another host's): each says once that the key material differs (exit 1), never lists the files as
/// damaged, and changes nothing.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class WrongKeyMaterialCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string StatePath => _temp.Combine("state");

    private string KeyFile => _temp.Combine("keys.json");

    private string WrongKeyFile => _temp.Combine("wrong-keys.json");

    private Task<StatectlRun> WithWrongKeyAsync(params string[] args) => StatectlRun.RunAsync([.. args, "--state-path", StatePath, "--key-file", WrongKeyFile]);

    /// <summary>The server's directory, and a key file holding its key id with other material; returns the key id.</summary>
    private async Task<string> WriteAsync()
    {
        Assert.Equal(0, (await StatectlRun.RunAsync("keys", "create", KeyFile)).ExitCode);
        await ServerWrittenState.WriteAsync(StatePath, tasks: 3, keyFile: KeyFile);
        EncryptionKey real = EncryptionKeyFile.Read(KeyFile).Active;
        EncryptionKeyFile.Write(WrongKeyFile, new EncryptionKeyRing([new EncryptionKey(real.Id, RandomNumberGenerator.GetBytes(32), EncryptionKeyState.Active, real.CreatedAt)]));
        return real.Id;
    }

    [Fact]
    public async Task EachReadingCommand_SaysOnceThatTheKeyMaterialDiffers_AndChangesNothing()
    {
        string keyId = await WriteAsync();
        var before = DirectoryContents.Read(StatePath);
        string archive = _temp.Combine("export.tar.gz");

        foreach (string[] command in new string[][] { ["verify"], ["tasks", "list"], ["tasks", "show", "task_1"], ["export", archive], ["rebuild"] })
        {
            StatectlRun run = await WithWrongKeyAsync(command);
            Assert.True(run.ExitCode == 1, string.Join(' ', command) + ": " + run);
            Assert.Contains($"'{keyId}'", run.Error, StringComparison.Ordinal);
            Assert.Contains("differs from the key that sealed it", run.Error, StringComparison.Ordinal);
            Assert.DoesNotContain("damaged", run.Error + run.Output, StringComparison.Ordinal);
            Assert.Single(run.Error.Trim().Split('\n'));
        }

        Assert.False(File.Exists(archive));
        DirectoryContents.AssertUnchanged(before, StatePath);
    }

    [Fact]
    public async Task KeysVerify_NamesTheKeyOnce_NotEveryFileAsDamaged()
    {
        // The audit: 5,145 "damaged … or belongs to another report" lines, and no word of the key.
        string keyId = await WriteAsync();
        var before = DirectoryContents.Read(StatePath);

        StatectlRun run = await WithWrongKeyAsync("keys", "verify", "--json");

        Assert.True(run.ExitCode == 1, run.ToString());
        string problem = Assert.Single(run.Json().GetProperty("problems").EnumerateArray().Select(p => p.GetString()!));
        Assert.Contains($"The key '{keyId}' in this key file is not the key that sealed", problem, StringComparison.Ordinal);
        Assert.DoesNotContain("damaged", problem.Replace("not damage", "", StringComparison.Ordinal), StringComparison.Ordinal);
        DirectoryContents.AssertUnchanged(before, StatePath);
    }
}
