using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using StatePersistence.Encryption;
using StatePersistence.Errors;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Encryption;

/// <summary>The key operations: each an atomic rewrite of the key file and an Information audit entry naming key ids only.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class KeyOperationsTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void CreateRotateRetireRevoke_AreAudited_AtInformation_WithKeyIdsOnly()
    {
        string file = _directory.Combine("keys.json");
        var logger = new FakeLogger();

        EncryptionKey first = EncryptionKeyOperations.Create(file, logger: logger);
        EncryptionKey second = EncryptionKeyOperations.Rotate(file, logger);
        EncryptionKeyOperations.SetState(file, first.Id, EncryptionKeyState.Revoked, logger);

        EncryptionKeyRing ring = EncryptionKeyFile.Read(file);
        Assert.Equal(second.Id, ring.Active.Id);
        Assert.Equal(EncryptionKeyState.Revoked, ring.Find(first.Id)!.State);
        IReadOnlyList<FakeLogRecord> records = logger.Collector.GetSnapshot();
        Assert.Equal(["EncryptionKeyAdded", "EncryptionKeyAdded", "EncryptionKeyActivated", "EncryptionKeyStateChanged"], records.Select(r => r.Id.Name));
        Assert.All(records, r => Assert.Equal(LogLevel.Information, r.Level));
        Assert.Contains(records, r => r.Message.Contains(second.Id, StringComparison.Ordinal) && r.Message.Contains(first.Id, StringComparison.Ordinal));
        foreach (EncryptionKey key in ring.Keys)
        {
            string base64 = Convert.ToBase64String(key.Material);
            Assert.All(records, r => Assert.DoesNotContain(base64, r.Message, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void TheActiveKey_CannotBeRetiredOrRemoved_AndTheFileIsUnchanged()
    {
        string file = _directory.Combine("keys.json");
        string state = _directory.Combine("state");
        Directory.CreateDirectory(state);
        EncryptionKey key = EncryptionKeyOperations.Create(file);
        byte[] before = File.ReadAllBytes(file);

        var retire = Assert.Throws<StatePersistenceException>(() => EncryptionKeyOperations.SetState(file, key.Id, EncryptionKeyState.Retired));
        var remove = Assert.Throws<StatePersistenceException>(() => EncryptionKeyOperations.Remove(file, key.Id, state));
        var unknown = Assert.Throws<StatePersistenceException>(() => EncryptionKeyOperations.SetState(file, "nope", EncryptionKeyState.Retired));

        Assert.Contains($"'{key.Id}'", retire.Message, StringComparison.Ordinal);
        Assert.Contains("active", remove.Message, StringComparison.Ordinal);
        Assert.Contains($"does not hold the key 'nope'; it holds {key.Id} (active).", unknown.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(file));
    }

    /// <summary>
    /// Given the state directory, rotate, disable, retire and revoke refuse a key file inside it, as create does: a copy
    /// or backup of the directory would carry its own key. Before, only create, list, verify and remove checked.
    /// </summary>
    [Fact]
    public void EveryChange_GivenTheStateDirectory_RefusesAKeyFileInsideIt_NamingBoth_AndChangesNothing()
    {
        string state = _directory.Combine("state");
        Directory.CreateDirectory(state);
        string inside = Path.Combine(state, "keys.json");
        EncryptionKey first = EncryptionKeyOperations.Create(inside);
        EncryptionKeyOperations.Rotate(inside);
        byte[] before = File.ReadAllBytes(inside);
        Action[] changes =
        [
            () => EncryptionKeyOperations.Rotate(inside, state),
            () => EncryptionKeyOperations.RotateReportingRetired(inside, state),
            () => EncryptionKeyOperations.Disable(inside, state),
            () => EncryptionKeyOperations.SetState(inside, first.Id, EncryptionKeyState.Retired, state),
            () => EncryptionKeyOperations.SetState(inside, first.Id, EncryptionKeyState.Revoked, state),
        ];

        foreach (Action change in changes)
        {
            var refused = Assert.Throws<StatePersistenceException>(change);
            Assert.Contains($"The key file '{inside}' is inside the state directory '{state}'", refused.Message, StringComparison.Ordinal);
        }

        Assert.Equal(before, File.ReadAllBytes(inside));

        // Outside it, each goes through.
        string outside = _directory.Combine("keys.json");
        File.Move(inside, outside);
        EncryptionKeyOperations.Rotate(outside, state);
        EncryptionKeyOperations.RotateReportingRetired(outside, state);
        EncryptionKeyOperations.SetState(outside, first.Id, EncryptionKeyState.Revoked, state);
        EncryptionKeyOperations.Disable(outside, state);
        Assert.False(EncryptionKeyFile.Read(outside).HasActiveKey);
    }

    [Fact]
    public void Revoke_AsksTheStoreOnlyWhenTheRevocationIsAllowed_AndARefusalLeavesTheFileAsItWas()
    {
        string file = _directory.Combine("keys.json");
        EncryptionKey first = EncryptionKeyOperations.Create(file);
        EncryptionKey second = EncryptionKeyOperations.Rotate(file);
        byte[] before = File.ReadAllBytes(file);
        int asked = 0;

        var active = Assert.Throws<StatePersistenceException>(() => EncryptionKeyOperations.Revoke(file, second.Id, () => { asked++; return null; }));
        var needed = Assert.Throws<StatePersistenceException>(() => EncryptionKeyOperations.Revoke(file, first.Id, () => { asked++; return "It still seals 3 payloads."; }));

        Assert.Contains("active", active.Message, StringComparison.Ordinal);
        Assert.StartsWith("It still seals 3 payloads. ", needed.Message, StringComparison.Ordinal);
        Assert.Contains($"The key '{first.Id}' was not revoked", needed.Message, StringComparison.Ordinal);
        Assert.Equal(1, asked);
        Assert.Equal(before, File.ReadAllBytes(file));

        EncryptionKeyOperations.Revoke(file, first.Id, () => { asked++; return null; });
        Assert.Equal(EncryptionKeyState.Revoked, EncryptionKeyFile.Read(file).Find(first.Id)!.State);

        // Revoked already: nothing changes, so there is nothing to ask (payloads under it stay refused either way).
        EncryptionKeyOperations.Revoke(file, first.Id, () => { asked++; return "It still seals 3 payloads."; });
        Assert.Equal(2, asked);
    }

    [Fact]
    public void Disable_RetiresTheActiveKey_LeavingNoneActive_IsAudited_AndARotationTurnsEncryptionBackOn()
    {
        string file = _directory.Combine("keys.json");
        var logger = new FakeLogger();
        EncryptionKey first = EncryptionKeyOperations.Create(file);

        Assert.Equal(first.Id, EncryptionKeyOperations.Disable(file, logger));

        EncryptionKeyRing off = EncryptionKeyFile.Read(file);
        Assert.False(off.HasActiveKey);
        Assert.Equal(EncryptionKeyState.Retired, off.Find(first.Id)!.State);
        Assert.Null(new AesGcmCodec(off).KeyId);
        FakeLogRecord record = Assert.Single(logger.Collector.GetSnapshot());
        Assert.Equal("EncryptionDisabled", record.Id.Name);
        Assert.Equal(LogLevel.Information, record.Level);
        Assert.Contains(first.Id, record.Message, StringComparison.Ordinal);

        // Disabling twice is refused without a change; the last key cannot be removed (the key file is dropped instead).
        byte[] before = File.ReadAllBytes(file);
        var again = Assert.Throws<StatePersistenceException>(() => EncryptionKeyOperations.Disable(file));
        Assert.Contains("already off", again.Message, StringComparison.Ordinal);
        string state = _directory.Combine("state");
        Directory.CreateDirectory(state);
        var last = Assert.Throws<StatePersistenceException>(() => EncryptionKeyOperations.Remove(file, first.Id, state));
        Assert.Contains("last key", last.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(file));

        EncryptionKey second = EncryptionKeyOperations.Rotate(file);
        EncryptionKeyRing on = EncryptionKeyFile.Read(file);
        Assert.Equal(second.Id, on.Active.Id);
        Assert.Equal(EncryptionKeyState.Retired, on.Find(first.Id)!.State);
    }
}
