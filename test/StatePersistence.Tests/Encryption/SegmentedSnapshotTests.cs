using System.Buffers.Binary;
using StatePersistence.Encryption;
using StatePersistence.FileStore;
using StatePersistence.Recovery;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Encryption;

/// <summary>
/// Issue 15, start-up within 1.2x of the identity codec: a snapshot under encryption is sealed in 64 KiB segments
/// (envelope version 2, each segment its own nonce and tag, bound to the file's stream id, its index and whether it
/// is the last), written and read a segment at a time. Swapped, reordered, truncated, flipped or foreign segments are
/// corruption (quarantined, the backup used); a snapshot sealed whole by the previous release still reads.
/// </summary>
public sealed class SegmentedSnapshotTests : IDisposable
{
    private const int Tasks = 8;
    private readonly StateFixture _fixture = new();

    public SegmentedSnapshotTests()
    {
        KeyFile = Path.Combine(Path.GetDirectoryName(_fixture.StatePath)!, "keys.json");
        EncryptionKeyFile.Create(KeyFile);
    }

    private string KeyFile { get; }

    private string StateFile => _fixture.File("state.json");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _fixture.Dispose();

    /// <summary>About 40 KiB per task, so the snapshot spans several segments; the marker shows whether any is in the clear.</summary>
    private static string Description(int i) => $"SEGMENT-MARKER-{i} " + string.Concat(Enumerable.Repeat($"line {i} of a long description. ", 1200));

    private StatePersistenceService Create(string? keyFile) =>
        FileStatePersistence.Create(_fixture.Options(o =>
        {
            o.Encryption.KeyFile = keyFile;
            o.ScrubInterval = TimeSpan.Zero;
            o.ReencryptionInterval = TimeSpan.Zero;
        }), timeProvider: _fixture.Time);

    private async Task<StatePersistenceService> OpenAsync(bool encrypted = true)
    {
        StatePersistenceService service = Create(encrypted ? KeyFile : null);
        await service.StartAsync(Ct);
        return service;
    }

    /// <summary>Tasks, a snapshot, a second snapshot (the first becomes a backup), then a clean stop.</summary>
    private async Task PopulateAsync(bool encrypted = true)
    {
        await using StatePersistenceService service = await OpenAsync(encrypted);
        for (int i = 0; i < Tasks; i++)
        {
            await service.SaveTaskAsync(StateFixture.Task($"t{i}", description: Description(i)), Ct);
        }

        await service.SaveSnapshotAsync(Ct);
        _fixture.Time.Advance(TimeSpan.FromSeconds(1));
        await service.SaveSnapshotAsync(Ct);
        _fixture.Time.Advance(TimeSpan.FromSeconds(1));
    }

    private async Task AssertEveryTaskIsBackAsync(StatePersistenceService service)
    {
        for (int i = 0; i < Tasks; i++)
        {
            Assert.Equal(Description(i), (await service.LoadTaskAsync($"t{i}", Ct))!.Description);
        }
    }

    [Fact]
    public async Task EncryptedSnapshot_IsSealedInSegments_NothingInTheClear_AndReadsBack()
    {
        await PopulateAsync();

        byte[] stored = File.ReadAllBytes(StateFile);
        Assert.Equal(EnvelopeFormat.SegmentedVersion, stored[4]);
        Assert.True(Segments(stored).Count >= 5, $"expected a snapshot of several segments, got {Segments(stored).Count}");
        Assert.Equal(-1, stored.AsSpan().IndexOf("SEGMENT-MARKER"u8));
        string keyId = EncryptionKeyFile.Read(KeyFile).Active.Id;
        Assert.False(EncryptionKeyUsage.NeedsResealing(stored, keyId));

        await using StatePersistenceService service = await OpenAsync();
        Assert.Equal("state.json", service.LastRecovery!.SnapshotSource);
        Assert.Empty(service.LastRecovery.Quarantined);
        await AssertEveryTaskIsBackAsync(service);
    }

    public static TheoryData<string> Tamperings =>
        ["swapped", "reordered", "truncated-at-boundary", "truncated-inside", "bit-flip", "from-another-file", "duplicated"];

    /// <summary>The snapshot with <paramref name="tampering"/> applied; its CRC-32 recomputed when <paramref name="recomputeChecksum"/>.</summary>
    private byte[] Tampered(string tampering, bool recomputeChecksum)
    {
        byte[] stored = File.ReadAllBytes(StateFile);
        List<(int Offset, int Length)> segments = Segments(stored);
        int bodyStart = segments[0].Offset;
        byte[] Segment(int i) => stored.AsSpan(segments[i].Offset, segments[i].Length).ToArray();
        byte[] Rebuilt(IEnumerable<byte[]> body)
        {
            byte[] rebuilt = [.. stored.AsSpan(0, bodyStart), .. body.SelectMany(b => b), .. stored.AsSpan(stored.Length - 4)];
            return recomputeChecksum ? WithChecksum(rebuilt) : rebuilt;
        }

        int last = segments.Count - 1;
        return tampering switch
        {
            "swapped" => Rebuilt(segments.Select((_, i) => Segment(i switch { 0 => 1, 1 => 0, _ => i }))),
            "reordered" => Rebuilt(segments.Select((_, i) => Segment(i switch { 1 => 2, 2 => 3, 3 => 1, _ => i }))),
            "truncated-at-boundary" => Rebuilt(segments.Take(last).Select((_, i) => Segment(i))),
            "truncated-inside" => stored[..(segments[2].Offset + 100)],
            "bit-flip" => FlipInSegment(stored, segments[1], recomputeChecksum),
            "from-another-file" => Rebuilt(segments.Select((_, i) => i == 1 ? ForeignSegment(1) : Segment(i))),
            "duplicated" => Rebuilt(segments.SelectMany((_, i) => i == 1 ? [Segment(1), Segment(1)] : new[] { Segment(i) })),
            _ => throw new ArgumentOutOfRangeException(nameof(tampering)),
        };
    }

    [Theory]
    [MemberData(nameof(Tamperings))]
    public async Task TamperedSegments_AreCorruption_TheFileIsQuarantined_AndTheBackupIsUsed(string tampering)
    {
        await PopulateAsync();
        // As damage at rest leaves it: the file's CRC-32 fails.
        File.WriteAllBytes(StateFile, Tampered(tampering, recomputeChecksum: false));

        await using StatePersistenceService service = await OpenAsync();
        RecoveryReport report = service.LastRecovery!;
        Assert.Contains(report.Quarantined, q => q.OriginalPath == StateFile);
        Assert.Contains("state.backup.", report.SnapshotSource, StringComparison.Ordinal);
        await AssertEveryTaskIsBackAsync(service);
    }

    public static TheoryData<string> TamperingsWithTheChecksumRecomputed =>
        ["swapped", "reordered", "truncated-at-boundary", "bit-flip", "from-another-file", "duplicated"];

    [Theory]
    [MemberData(nameof(TamperingsWithTheChecksumRecomputed))]
    public async Task TamperedSegments_WithTheChecksumRecomputed_AreRefusedLikeTheWrongKey_NeverServed_AndNothingChanges(string tampering)
    {
        // The CRC-32 recomputed, as only a deliberate writer does: the segments' authentication catches it, and the
        // file cannot be told from one read with other key material under the same id (which must never be quarantined).
        await PopulateAsync();
        byte[] tampered = Tampered(tampering, recomputeChecksum: true);
        File.WriteAllBytes(StateFile, tampered);

        StatePersistenceService service = Create(KeyFile);
        var error = await Assert.ThrowsAsync<Errors.StateFormatException>(() => service.StartAsync(Ct));
        await service.DisposeAsync();

        Assert.True(error.KeyMaterialDiffers, error.Message);
        Assert.Equal(StateFile, error.Path);
        Assert.Equal(tampered, File.ReadAllBytes(StateFile));
        Assert.Empty(Directory.GetFiles(_fixture.StatePath, "*.corrupt.*"));
    }

    [Fact]
    public async Task SnapshotSealedWhole_AsThePreviousReleaseWroteIt_StillReads_AndTheNextSnapshotIsSegmented()
    {
        await PopulateAsync(encrypted: false);
        byte[] plain = File.ReadAllBytes(StateFile);
        var codec = new AesGcmCodec(EncryptionKeyFile.Read(KeyFile));
        string keyId = codec.KeyId!;
        var context = new PayloadContext(PayloadKind.Snapshot, "state", keyId);
        byte[] whole = [.. EnvelopeFormat.Header(codec.Name, keyId), .. codec.Encode(plain, context), 0, 0, 0, 0];
        File.WriteAllBytes(StateFile, WithChecksum(whole));
        Assert.Equal(EnvelopeFormat.Version, File.ReadAllBytes(StateFile)[4]);

        await using (StatePersistenceService service = await OpenAsync())
        {
            Assert.Equal("state.json", service.LastRecovery!.SnapshotSource);
            Assert.Empty(service.LastRecovery.Quarantined);
            await AssertEveryTaskIsBackAsync(service);
            await service.SaveSnapshotAsync(Ct);
        }

        Assert.Equal(EnvelopeFormat.SegmentedVersion, File.ReadAllBytes(StateFile)[4]);
    }

    [Fact]
    public async Task SegmentedSnapshot_UnderAKeyTheRingDoesNotHold_StopsTheStart_AndChangesNothing()
    {
        await PopulateAsync();
        string other = Path.Combine(Path.GetDirectoryName(KeyFile)!, "other-keys.json");
        EncryptionKeyFile.Create(other);
        byte[] before = File.ReadAllBytes(StateFile);

        StatePersistenceService service = Create(other);
        var error = await Assert.ThrowsAsync<Errors.StateFormatException>(() => service.StartAsync(Ct));
        await service.DisposeAsync();

        Assert.Contains($"'{EncryptionKeyFile.Read(KeyFile).Active.Id}'", error.Message, StringComparison.Ordinal);
        Assert.Contains("does not hold", error.Message, StringComparison.Ordinal);
        Assert.Equal(StateFile, error.Path);
        Assert.Equal(before, File.ReadAllBytes(StateFile));
        Assert.Empty(Directory.GetFiles(_fixture.StatePath, "*.corrupt.*"));
    }

    [Fact]
    public async Task DamagedKeyIdInTheHeader_IsCorruption_NotAMissingKey()
    {
        await PopulateAsync();
        byte[] stored = File.ReadAllBytes(StateFile);
        stored[EnvelopeFormat.FixedHeaderSize + stored[6]] ^= 0x01; // the key id's first character; the CRC now fails
        File.WriteAllBytes(StateFile, stored);

        await using StatePersistenceService service = await OpenAsync();

        Assert.Contains(service.LastRecovery!.Quarantined, q => q.OriginalPath == StateFile);
        await AssertEveryTaskIsBackAsync(service);
    }

    /// <summary>The segments of a segmented envelope: offset and length of each, its 4-byte length included.</summary>
    private static List<(int Offset, int Length)> Segments(byte[] stored)
    {
        var segments = new List<(int, int)>();
        int at = EnvelopeFormat.FixedHeaderSize + stored[6] + stored[7] + SegmentedEnvelope.ParametersSize;
        while (at < stored.Length - EnvelopeFormat.ChecksumSize)
        {
            int length = 4 + BinaryPrimitives.ReadInt32LittleEndian(stored.AsSpan(at));
            segments.Add((at, length));
            at += length;
        }

        return segments;
    }

    /// <summary>Segment <paramref name="index"/> of the newest backup: same content and key, another file.</summary>
    private byte[] ForeignSegment(int index)
    {
        string backup = Directory.GetFiles(_fixture.StatePath, "state.backup.*.json").Order(StringComparer.Ordinal).Last();
        byte[] stored = File.ReadAllBytes(backup);
        (int offset, int length) = Segments(stored)[index];
        return stored.AsSpan(offset, length).ToArray();
    }

    private static byte[] FlipInSegment(byte[] stored, (int Offset, int Length) segment, bool recomputeChecksum)
    {
        byte[] copy = [.. stored];
        copy[segment.Offset + 4 + AesGcmCodec.NonceSize + AesGcmCodec.TagSize + 1000] ^= 0x04;
        return recomputeChecksum ? WithChecksum(copy) : copy;
    }

    /// <summary>Recomputes a snapshot envelope's CRC-32 trailer over its other bytes.</summary>
    private static byte[] WithChecksum(byte[] stored)
    {
        byte[] associatedData = new PayloadContext(PayloadKind.Snapshot, "state", null).AssociatedData();
        BinaryPrimitives.WriteUInt32LittleEndian(stored.AsSpan(stored.Length - 4),
            EnvelopeFormat.Checksum(associatedData, stored.AsSpan(0, stored.Length - 4)));
        return stored;
    }
}
