using StatePersistence.Encryption;
using StatePersistence.FileSystem;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Encryption;

/// <summary>
/// <c>statectl keys rotate</c> (any change of the key file) run as root over a key file the server's own user owns:
/// the atomic write renames a new file into place, which was root's, mode 0600, and the server, running as its user,
/// could no longer read the file it reloads, so every sealing write failed. The new file keeps the old one's owner and
/// group, and so does the lock file the change makes beside it.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class KeyFileOwnerTests : IDisposable
{
    private static readonly FileOwner Nobody = new(65534, 65534);

    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private string KeyFile => _directory.Combine("keys.json");

    [Fact]
    public void AChangeRunAsRoot_KeepsTheKeyFilesOwnerAndGroup_AndMode0600()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "owners are read and given with statx and chown on Linux only");
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "only root may give a file to another user; this run is not root");
        EncryptionKey first = EncryptionKeyOperations.Create(KeyFile);
        Assert.True(PosixNative.TryGiveTo(KeyFile, Nobody));

        EncryptionKeyOperations.Rotate(KeyFile);
        EncryptionKeyOperations.SetState(KeyFile, first.Id, EncryptionKeyState.Revoked);

        Assert.Equal(Nobody, PosixNative.OwnerOf(KeyFile));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(KeyFile));
        Assert.Equal(Nobody, PosixNative.OwnerOf(KeyFileLock.PathOf(KeyFile)));
        Assert.Equal(EncryptionKeyState.Revoked, EncryptionKeyFile.Read(KeyFile).Find(first.Id)?.State);
    }

    [Fact]
    public void AChangeByTheOwner_LeavesTheFileItsOwn()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "owners are read with statx on Linux only");
        EncryptionKeyOperations.Create(KeyFile);
        FileOwner? before = PosixNative.OwnerOf(KeyFile);

        EncryptionKeyOperations.Rotate(KeyFile);

        Assert.Equal(before, PosixNative.OwnerOf(KeyFile));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(KeyFile));
    }
}
