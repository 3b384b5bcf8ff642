using StatePersistence.Encryption;
using StatePersistence.Errors;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Encryption;

/// <summary>A key file change writes nothing when the file changed since it was read (by a writer that took no lock).</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class KeyFileUpdateTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Update_WhenTheFileChangedSinceItWasRead_WritesNothing_NamingTheFile()
    {
        string file = _directory.Combine("keys.json");
        EncryptionKey first = EncryptionKeyOperations.Create(file);
        EncryptionKey second = EncryptionKeyOperations.Rotate(file);
        var added = EncryptionKey.Generate("key-added-meanwhile", EncryptionKeyState.Active, DateTimeOffset.UtcNow);

        var refused = Assert.Throws<StatePersistenceException>(() => EncryptionKeyFile.Update(file, null, ring =>
        {
            // Another writer, without the lock, rotates while this change is being made (a removal's scan).
            EncryptionKeyFile.Write(file, ring.WithActive(added));
            return ring.Without(first.Id);
        }));

        Assert.Contains($"'{file}' was changed by another writer", refused.Message, StringComparison.Ordinal);
        EncryptionKeyRing now = EncryptionKeyFile.Read(file);
        Assert.Equal(added.Id, now.Active.Id);
        Assert.NotNull(now.Find(first.Id));
        Assert.NotNull(now.Find(second.Id));
    }

    [Fact]
    public void Update_WhileAnotherProcessHoldsTheLock_GivesUpAfterItsWait_NamingTheFile()
    {
        string file = _directory.Combine("keys.json");
        EncryptionKeyOperations.Create(file);
        byte[] before = File.ReadAllBytes(file);
        using (new FileStream(KeyFileLock.PathOf(file), new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None }))
        {
            var refused = Assert.Throws<StatePersistenceException>(() => KeyFileLock.Acquire(file, TimeSpan.FromMilliseconds(200)));
            Assert.Contains($"'{file}' is being changed by another process", refused.Message, StringComparison.Ordinal);
        }

        Assert.Equal(before, File.ReadAllBytes(file));
        using IDisposable free = KeyFileLock.Acquire(file, TimeSpan.Zero);
    }
}
