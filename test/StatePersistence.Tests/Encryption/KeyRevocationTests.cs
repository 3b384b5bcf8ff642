using Microsoft.Extensions.Logging.Testing;
using StatePersistence.Encryption;
using StatePersistence.Errors;
using StatePersistence.FileStore;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Encryption;

/// <summary>
/// <c>EncryptionKeyOperations.Revoke(keyFile, keyId, stateDirectory)</c>: the revocation measures the state directory
/// itself, under the key file's lock, as the removal does. Before it, only <c>statectl</c> looked (through the callback
/// form), and a library user revoking a key the state was still sealed with got a store that could not start.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class KeyRevocationTests : IDisposable
{
    private readonly StateFixture _fixture = new();
    private readonly TempDirectory _keys = new();

    public void Dispose()
    {
        _fixture.Dispose();
        _keys.Dispose();
    }

    private string KeyFile => _keys.Combine("keys.json");

    [Fact]
    public async Task ARetiredKeyTheStateIsStillSealedWith_IsNotRevoked_TheRefusalNamingTheCount_AndAnUnusedOneIs()
    {
        string sealing = await SealedStateAsync();
        string unused = EncryptionKeyOperations.Rotate(KeyFile).Id;
        EncryptionKeyOperations.Rotate(KeyFile);
        KeyUsageCount used = EncryptionKeyUsage.Measure(_fixture.StatePath).For(sealing);
        Assert.True(used.Payloads > 0, $"{used.Payloads} payloads");
        byte[] before = File.ReadAllBytes(KeyFile);

        var refused = Assert.Throws<StatePersistenceException>(() => EncryptionKeyOperations.Revoke(KeyFile, sealing, _fixture.StatePath));

        Assert.Contains($"The key '{sealing}' still seals {used.Payloads} payload(s) in {used.Files} file(s) under '{_fixture.StatePath}'", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Wait for the re-encryption to rewrite them", refused.Message, StringComparison.Ordinal);
        Assert.Contains($"The key '{sealing}' was not revoked; '{KeyFile}' was not changed.", refused.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(KeyFile));

        var logger = new FakeLogger();
        EncryptionKeyOperations.Revoke(KeyFile, unused, _fixture.StatePath, logger);

        Assert.Equal(EncryptionKeyState.Revoked, EncryptionKeyFile.Read(KeyFile).Find(unused)!.State);
        Assert.Equal(EncryptionKeyState.Retired, EncryptionKeyFile.Read(KeyFile).Find(sealing)!.State);
        Assert.Equal("EncryptionKeyStateChanged", Assert.Single(logger.Collector.GetSnapshot()).Id.Name);
    }

    [Theory]
    [InlineData("missing", "does not exist")]
    [InlineData("empty", "shows no sign of being a state directory")]
    [InlineData("lock only", "shows no sign of being a state directory")]
    [InlineData("file", "is a file, not a directory")]
    public void APathThatIsNoStateDirectory_IsNotTakenForOneWhereNothingIsSealed(string kind, string said)
    {
        string retired = EncryptionKeyOperations.Create(KeyFile).Id;
        EncryptionKeyOperations.Rotate(KeyFile);
        string path = _keys.Combine("not-state");
        switch (kind)
        {
            case "empty":
                Directory.CreateDirectory(path);
                break;
            case "lock only":
                // Any process that takes a store's lock leaves the file: no sign that a store lives there.
                Directory.CreateDirectory(path);
                File.WriteAllBytes(Path.Combine(path, ".lock"), []);
                break;
            case "file":
                File.WriteAllText(path, "not a directory");
                break;
        }

        byte[] before = File.ReadAllBytes(KeyFile);

        var refused = Assert.Throws<StatePersistenceException>(() => EncryptionKeyOperations.Revoke(KeyFile, retired, path));

        Assert.Contains($"'{path}' {said}, so keys retire --revoke cannot tell what the key still seals there", refused.Message, StringComparison.Ordinal);
        Assert.Contains($"The key '{retired}' was not revoked", refused.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(KeyFile));
        Assert.Equal(kind == "missing", !Path.Exists(path));
    }

    [Fact]
    public async Task AKeyFileInsideTheStateDirectory_IsRefused_NamingBoth()
    {
        await SealedStateAsync();
        string inside = _fixture.File("keys.json");
        File.Copy(KeyFile, inside);
        string retired = EncryptionKeyOperations.Rotate(inside).Id;
        EncryptionKeyOperations.Rotate(inside);
        byte[] before = File.ReadAllBytes(inside);

        var refused = Assert.Throws<StatePersistenceException>(() => EncryptionKeyOperations.Revoke(inside, retired, _fixture.StatePath));

        Assert.Contains($"The key file '{inside}' is inside the state directory '{_fixture.StatePath}'", refused.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(inside));
    }

    /// <summary>
    /// A symbolic link among the store's files whose target is gone is listed by every pass of the count: it was taken
    /// for a file a rotation had moved, and the revocation was refused with "try again" for ever. It holds nothing
    /// under any key, so a key that seals nothing else is revoked, and the count names the link.
    /// </summary>
    [Fact]
    public async Task ABrokenLinkAmongTheFiles_IsNamedByTheCount_AndDoesNotStopTheRevocation()
    {
        await SealedStateAsync();
        string retired = EncryptionKeyOperations.Rotate(KeyFile).Id;
        EncryptionKeyOperations.Rotate(KeyFile);
        string link = _fixture.File("tasks", "gone.json");
        File.CreateSymbolicLink(link, _keys.Combine("never-there.json"));

        Assert.Equal([link], EncryptionKeyUsage.Measure(_fixture.StatePath).BrokenLinks);
        EncryptionKeyOperations.Revoke(KeyFile, retired, _fixture.StatePath);

        Assert.Equal(EncryptionKeyState.Revoked, EncryptionKeyFile.Read(KeyFile).Find(retired)!.State);
    }

    /// <summary>A state directory with one task, its snapshot taken, every payload sealed with the key it returns.</summary>
    private Task<string> SealedStateAsync() => _fixture.WriteSealedStateAsync(KeyFile);
}
