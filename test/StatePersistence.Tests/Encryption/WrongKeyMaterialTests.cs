using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json;
using StatePersistence.Encryption;
using StatePersistence.Errors;
using StatePersistence.FileStore;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Encryption;

/// <summary>
/// Intact payloads (their checksums hold) that do not authenticate under the key their header names: the key ring holds
/// other key material under that id (a mistyped key, another host's key), or the bytes were altered on purpose with the
/// checksum recomputed. Either way nothing is damaged at rest, so the store refuses as for a missing key and changes
/// nothing; quarantining would move every file under the key aside and start empty.
/// </summary>
public sealed class WrongKeyMaterialTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public WrongKeyMaterialTests()
    {
        KeyFile = Path.Combine(Path.GetDirectoryName(_fixture.StatePath)!, "keys.json");
        KeyId = EncryptionKeyFile.Create(KeyFile).Active.Id;
    }

    private string KeyFile { get; }

    private string KeyId { get; }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _fixture.Dispose();

    private StatePersistenceService Create(string keyFile) =>
        FileStatePersistence.Create(_fixture.Options(o =>
        {
            o.Encryption.KeyFile = keyFile;
            o.ScrubInterval = TimeSpan.Zero;
            o.ReencryptionInterval = TimeSpan.Zero;
        }), timeProvider: _fixture.Time);

    /// <summary>Tasks, a session and its log, a report, two snapshots (one becomes a backup), then journal-only changes and a crash.</summary>
    private async Task PopulateAsync()
    {
        StatePersistenceService service = Create(KeyFile);
        await service.StartAsync(Ct);
        await service.SaveTaskAsync(StateFixture.Task("t1", description: "one"), Ct);
        await service.SaveTaskAsync(StateFixture.Task("t2", description: "two"), Ct);
        await service.SaveSessionAsync(new StatePersistence.Model.SessionInfo { Id = "s1", Type = "interactive", Status = "active" }, Ct);
        await service.AppendSessionLogAsync("s1", "line\n", Ct);
        await service.SaveReportAsync("r1", JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["summary"] = "r" }), Ct);
        await service.SaveSnapshotAsync(Ct);
        _fixture.Time.Advance(TimeSpan.FromSeconds(1));
        await service.SaveSnapshotAsync(Ct);
        await service.SaveTaskAsync(StateFixture.Task("t3", description: "three"), Ct);
        await StateFixture.CrashAsync(service);
    }

    /// <summary>A key file holding the same key id as the real one, with other key material.</summary>
    private string WrongKeyFile()
    {
        EncryptionKey real = EncryptionKeyFile.Read(KeyFile).Active;
        string path = Path.Combine(Path.GetDirectoryName(KeyFile)!, "wrong-keys.json");
        EncryptionKeyFile.Write(path, new EncryptionKeyRing([new EncryptionKey(real.Id, RandomNumberGenerator.GetBytes(32), EncryptionKeyState.Active, real.CreatedAt)]));
        return path;
    }

    private Dictionary<string, byte[]> Bytes() =>
        Directory.GetFiles(_fixture.StatePath, "*", SearchOption.AllDirectories)
            .Where(f => !Path.GetFileName(f).StartsWith(".lock", StringComparison.Ordinal))
            .ToDictionary(f => f, File.ReadAllBytes);

    private void AssertUnchanged(Dictionary<string, byte[]> before)
    {
        Dictionary<string, byte[]> after = Bytes();
        Assert.Equal(before.Keys.Order(StringComparer.Ordinal), after.Keys.Order(StringComparer.Ordinal));
        Assert.All(before, entry => Assert.True(entry.Value.AsSpan().SequenceEqual(after[entry.Key]), $"'{entry.Key}' changed"));
        Assert.Empty(Directory.GetFiles(_fixture.StatePath, "*.corrupt.*", SearchOption.AllDirectories));
    }

    private async Task<StateFormatException> RefusedStartAsync(string keyFile)
    {
        StatePersistenceService service = Create(keyFile);
        var error = await Assert.ThrowsAsync<StateFormatException>(() => service.StartAsync(Ct));
        await service.DisposeAsync();
        return error;
    }

    [Fact]
    public async Task TheRightKeyIdWithOtherMaterial_StopsTheStart_NamingTheFileAndTheKey_AndChangesNothing()
    {
        await PopulateAsync();
        Dictionary<string, byte[]> before = Bytes();

        StateFormatException error = await RefusedStartAsync(WrongKeyFile());

        Assert.Contains($"'{KeyId}'", error.Message, StringComparison.Ordinal);
        Assert.Contains("differs from the key that sealed it", error.Message, StringComparison.Ordinal);
        Assert.Contains("nothing was changed", error.Message, StringComparison.Ordinal);
        Assert.Equal(KeyId, error.KeyId);
        Assert.True(error.KeyMaterialDiffers);
        Assert.StartsWith(_fixture.StatePath, error.Path, StringComparison.Ordinal);
        Assert.Contains(error.Path!, error.Message, StringComparison.Ordinal);
        AssertUnchanged(before);

        // With the right key everything is back: the journal-only t3 too.
        await using StatePersistenceService again = Create(KeyFile);
        await again.StartAsync(Ct);
        Assert.Empty(again.LastRecovery!.Quarantined);
        Assert.Equal("three", (await again.LoadTaskAsync("t3", Ct))!.Description);
        Assert.Equal("line\n", await again.ReadSessionLogAsync("s1", Ct));
    }

    [Fact]
    public async Task WithoutStateJson_TheItemFilesUnderOtherMaterial_AreNotQuarantinedNorRebuiltEmpty()
    {
        // What the audit saw: state.json, every backup and every task file moved aside, and an empty state served.
        await PopulateAsync();
        File.Delete(_fixture.File("state.json"));
        foreach (string backup in Directory.GetFiles(_fixture.StatePath, "state.backup.*.json"))
        {
            File.Delete(backup);
        }

        Dictionary<string, byte[]> before = Bytes();

        StateFormatException error = await RefusedStartAsync(WrongKeyFile());

        Assert.True(error.KeyMaterialDiffers, error.Message);
        AssertUnchanged(before);
    }

    [Fact]
    public async Task VerifyingTheDirectoryWithOtherMaterial_SaysSoOnce_InsteadOfListingEveryFile()
    {
        await PopulateAsync();
        var wrong = new AesGcmCodec(EncryptionKeyFile.Read(WrongKeyFile()));

        var error = Assert.Throws<StateFormatException>(() => StatePersistence.FileStore.Operations.StateDirectoryVerifier.Verify(_fixture.StatePath, wrong));

        Assert.True(error.KeyMaterialDiffers, error.Message);
    }

    [Fact]
    public async Task TaskFileAlteredWithItsChecksumRecomputed_IsRefused_NeitherServedNorQuarantined()
    {
        // Only someone who writes the directory and recomputes the CRC can do this; it reads exactly like the wrong key.
        await PopulateAsync();
        string t1 = _fixture.File("tasks", "t1.json");
        File.WriteAllBytes(t1, WithValidCrc(File.ReadAllBytes(t1), PayloadKind.Task, "t1", b => b[8 + b[6] + b[7] + AesGcmCodec.NonceSize + 3] ^= 0x01));
        File.Delete(_fixture.File("state.json"));
        Dictionary<string, byte[]> before = Bytes();

        StateFormatException error = await RefusedStartAsync(KeyFile);

        Assert.Equal(t1, error.Path);
        Assert.Contains("altered on purpose", error.Message, StringComparison.Ordinal);
        AssertUnchanged(before);
    }

    [Fact]
    public async Task ReportAlteredWithItsChecksumRecomputed_IsRefusedWhenRead_AndStays()
    {
        await PopulateAsync();
        string report = _fixture.File("reports", "report_r1.json");
        byte[] altered = WithValidCrc(File.ReadAllBytes(report), PayloadKind.Report, "r1", b => b[^10] ^= 0x01);
        File.WriteAllBytes(report, altered);

        await using StatePersistenceService service = Create(KeyFile);
        await service.StartAsync(Ct);
        var error = await Assert.ThrowsAsync<StateFormatException>(async () => await service.LoadReportAsync("r1", Ct));

        Assert.Equal(report, error.Path);
        Assert.Equal(altered, File.ReadAllBytes(report));
    }

    [Fact]
    public void Envelope_RefusesEveryFormUnderOtherMaterial_AndStillCallsAFailingChecksumDamage()
    {
        EncryptionKey real = EncryptionKey.Generate("k1", EncryptionKeyState.Active, DateTimeOffset.UnixEpoch);
        var sealing = new PayloadEnvelope(new AesGcmCodec(new EncryptionKeyRing([real])));
        var wrong = new PayloadEnvelope(new AesGcmCodec(new EncryptionKeyRing([new EncryptionKey("k1", RandomNumberGenerator.GetBytes(32), EncryptionKeyState.Active, real.CreatedAt)])));
        byte[] plain = "{\"id\":\"t1\"}"u8.ToArray();

        byte[] task = sealing.Seal(PayloadKind.Task, "t1", plain);
        byte[] snapshot = sealing.Seal(PayloadKind.Snapshot, "state", plain);
        var record = new System.Buffers.ArrayBufferWriter<byte>();
        sealing.SealRecord(record, PayloadKind.SessionLogAppend, "s1", plain);

        Assert.True(SegmentedEnvelope.IsSegmented(snapshot));
        Assert.True(Assert.Throws<StateFormatException>(() => wrong.Open(PayloadKind.Task, "t1", task, "/s/tasks/t1.json")).KeyMaterialDiffers);
        Assert.True(Assert.Throws<StateFormatException>(() => wrong.Open(PayloadKind.Snapshot, "state", snapshot, "/s/state.json")).KeyMaterialDiffers);
        Assert.True(Assert.Throws<StateFormatException>(() => wrong.OpenRecord(PayloadKind.SessionLogAppend, "s1", record.WrittenMemory.Span, "/s/logs/session_s1.log").ToArray()).KeyMaterialDiffers);

        // A bit flipped at rest fails the checksum first: damage, under either key.
        task[^10] ^= 0x01;
        snapshot[^10] ^= 0x01;
        Assert.Throws<InvalidDataException>(() => wrong.Open(PayloadKind.Task, "t1", task, "/s/tasks/t1.json"));
        Assert.Throws<InvalidDataException>(() => wrong.Open(PayloadKind.Snapshot, "state", snapshot, "/s/state.json"));
    }

    /// <summary>Changes a sealed file's bytes and recomputes its envelope CRC, so that only the codec can notice.</summary>
    private static byte[] WithValidCrc(byte[] stored, PayloadKind kind, string id, Action<byte[]> change)
    {
        byte[] copy = [.. stored];
        change(copy);
        var context = new PayloadContext(kind, id, null);
        BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(copy.Length - 4), EnvelopeFormat.Checksum(context.AssociatedData(), copy.AsSpan(0, copy.Length - 4)));
        return copy;
    }
}
