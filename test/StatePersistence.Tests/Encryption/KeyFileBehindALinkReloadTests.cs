using Microsoft.Extensions.Time.Testing;
using StatePersistence.Encryption;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Encryption;

/// <summary>
/// A key file configured as a symbolic link (<c>/etc/sp/keys.json</c> to <c>/secure/keys.json</c>): every
/// <c>statectl keys</c> change writes the link's final target, so the running provider must judge the target for a
/// change. It looked at the link itself (its own time and length, which no key change touches), never reloaded, and
/// went on sealing with the old key after a rotation, and ignored a revocation or <c>keys disable</c>.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class KeyFileBehindALinkReloadTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 7, 9, 0, 0, TimeSpan.Zero));

    public KeyFileBehindALinkReloadTests()
    {
        Directory.CreateDirectory(_directory.Combine("secure"));
        Directory.CreateDirectory(_directory.Combine("etc"));
        File.CreateSymbolicLink(Link, Target);
    }

    public void Dispose() => _directory.Dispose();

    private string Target => _directory.Combine("secure", "keys.json");

    private string Link => _directory.Combine("etc", "keys.json");

    [Fact]
    public void ARotationThroughTheLink_IsSeenByTheRunningProvider_AfterItsRecheckInterval()
    {
        EncryptionKey first = EncryptionKeyOperations.Create(Link);
        var provider = new KeyFileProvider(Link, timeProvider: _time);
        Assert.Equal(first.Id, provider.GetKeyRing().Active.Id);

        EncryptionKey second = EncryptionKeyOperations.Rotate(Link);
        _time.Advance(KeyFileProvider.RecheckInterval);

        Assert.Equal(second.Id, provider.GetKeyRing().Active.Id);
        Assert.True(new FileInfo(Link).LinkTarget is not null, "the key file stays a link");
    }

    [Fact]
    public void ARevocationAndADisableThroughTheLink_AreSeenByTheRunningProvider()
    {
        EncryptionKey first = EncryptionKeyOperations.Create(Link);
        var provider = new KeyFileProvider(Link, timeProvider: _time);
        EncryptionKeyOperations.Rotate(Link);
        _time.Advance(KeyFileProvider.RecheckInterval);
        provider.GetKeyRing();

        // "retired" to "revoked": the file keeps its length, so only the target's identity or time tells the change.
        EncryptionKeyOperations.Revoke(Link, first.Id, stillNeeded: static () => null);
        _time.Advance(KeyFileProvider.RecheckInterval);
        Assert.Equal(EncryptionKeyState.Revoked, provider.GetKeyRing().Find(first.Id)?.State);

        EncryptionKeyOperations.Disable(Link);
        _time.Advance(KeyFileProvider.RecheckInterval);
        Assert.False(provider.GetKeyRing().HasActiveKey);
    }

    [Fact]
    public void TheLinkPointedAtAnotherKeyFile_IsSeenByTheRunningProvider()
    {
        EncryptionKeyOperations.Create(Link);
        var provider = new KeyFileProvider(Link, timeProvider: _time);
        string other = _directory.Combine("secure", "other.json");
        EncryptionKey elsewhere = EncryptionKeyOperations.Create(other);

        string staged = _directory.Combine("etc", "keys.json.new");
        File.CreateSymbolicLink(staged, other);
        File.Move(staged, Link, overwrite: true);
        _time.Advance(KeyFileProvider.RecheckInterval);

        Assert.Equal(elsewhere.Id, provider.GetKeyRing().Active.Id);
    }
}
