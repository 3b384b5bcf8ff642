using System.Text;
using StatePersistence.Encryption;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Encryption;

/// <summary>
/// A reload of the key file never drops a key the process holds that payloads may be sealed with: a file written back
/// from an older copy of the ring keeps the key in memory (retired) instead of making what it sealed unreadable.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class KeyFileReloadTests : IDisposable
{
    private static readonly byte[] Plain = Encoding.UTF8.GetBytes("""{"id":"task_1","description":"sealed"}""");

    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private string KeyFile => _directory.Combine("keys.json");

    private string StateDirectory
    {
        get
        {
            string state = _directory.Combine("state");
            Directory.CreateDirectory(Path.Combine(state, "tasks"));
            return state;
        }
    }

    [Fact]
    public void Reload_OfAnOlderRingWithoutTheActiveKey_KeepsThatKey_AndWhatItSealedStillOpens()
    {
        EncryptionKey first = EncryptionKeyOperations.Create(KeyFile);
        byte[] older = File.ReadAllBytes(KeyFile);
        var provider = new KeyFileProvider(KeyFile, StateDirectory);
        EncryptionKey second = EncryptionKeyOperations.Rotate(KeyFile);
        Assert.Equal(second.Id, provider.Reload().Active.Id);
        var envelope = new PayloadEnvelope(new AesGcmCodec(provider));
        byte[] sealedWithSecond = envelope.Seal(PayloadKind.Task, "task_1", Plain);

        File.WriteAllBytes(KeyFile, older);
        EncryptionKeyRing reloaded = provider.Reload();

        Assert.Equal(first.Id, reloaded.Active.Id);
        Assert.Equal(EncryptionKeyState.Retired, reloaded.Find(second.Id)?.State);
        Assert.Equal([second.Id], provider.KeptKeys);
        Assert.Equal(Plain, envelope.Open(PayloadKind.Task, "task_1", sealedWithSecond, "task_1.json"));
    }

    [Fact]
    public void Reload_WithoutARetiredKey_KeepsIt_WhileTheStateDirectoryHoldsAPayloadSealedWithIt()
    {
        EncryptionKey first = EncryptionKeyOperations.Create(KeyFile);
        string state = StateDirectory;
        var provider = new KeyFileProvider(KeyFile, state);
        File.WriteAllBytes(Path.Combine(state, "tasks", "task_1.json"), new PayloadEnvelope(new AesGcmCodec(provider)).Seal(PayloadKind.Task, "task_1", Plain));
        EncryptionKeyOperations.Rotate(KeyFile);
        provider.Reload();

        // Written without the lock or the usage check, as an older copy put back would be.
        EncryptionKeyFile.Write(KeyFile, EncryptionKeyFile.Read(KeyFile).Without(first.Id));
        EncryptionKeyRing reloaded = provider.Reload();

        Assert.Equal(EncryptionKeyState.Retired, reloaded.Find(first.Id)?.State);
        Assert.Equal([first.Id], provider.KeptKeys);
    }

    [Fact]
    public void Reload_WithoutARetiredKeyNothingIsSealedWith_DropsIt_AsARemovalMeans()
    {
        EncryptionKey first = EncryptionKeyOperations.Create(KeyFile);
        string state = StateDirectory;
        var provider = new KeyFileProvider(KeyFile, state);
        EncryptionKeyOperations.Rotate(KeyFile);
        provider.Reload();

        EncryptionKeyOperations.Remove(KeyFile, first.Id, state);
        EncryptionKeyRing reloaded = provider.Reload();

        Assert.Null(reloaded.Find(first.Id));
        Assert.Empty(provider.KeptKeys);
    }
}
