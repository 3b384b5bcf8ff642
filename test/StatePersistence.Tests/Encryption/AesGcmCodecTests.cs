using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using StatePersistence.Encryption;
using StatePersistence.Errors;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.Tests.Encryption;

/// <summary>The AES-256-GCM codec inside the payload envelope: fresh nonces, binding to the item and the key id, key states.</summary>
public sealed class AesGcmCodecTests
{
    private static readonly byte[] Plain = """{"id":"t1","description":"secret plan"}"""u8.ToArray();

    private static EncryptionKey Key(string id, EncryptionKeyState state = EncryptionKeyState.Active, byte seed = 1) =>
        new(id, Enumerable.Repeat(seed, EncryptionKey.MaterialSize).ToArray(), state, DateTimeOffset.UnixEpoch);

    [Fact]
    public void SealedPayload_HoldsNoPlainText_UsesAFreshNonceEachTime_AndOpens()
    {
        var envelope = new PayloadEnvelope(new AesGcmCodec(new EncryptionKeyRing([Key("k1")])));

        byte[] first = envelope.Seal(PayloadKind.Task, "t1", Plain);
        byte[] second = envelope.Seal(PayloadKind.Task, "t1", Plain);

        Assert.False(first.AsSpan().IndexOf("secret"u8) >= 0);
        Assert.True(first.AsSpan().IndexOf("aes-256-gcm"u8) >= 0 && first.AsSpan().IndexOf("k1"u8) >= 0, "the envelope names the codec and the key id");
        Assert.NotEqual(first, second);
        int body = EnvelopeFormat.FixedHeaderSize + first[6] + first[7];
        Assert.False(first.AsSpan(body, AesGcmCodec.NonceSize).SequenceEqual(second.AsSpan(body, AesGcmCodec.NonceSize)), "two payloads share a nonce");
        Assert.Equal(Plain, envelope.Open(PayloadKind.Task, "t1", first, "tasks/t1.json"));
        Assert.Equal(body + AesGcmCodec.NonceSize + AesGcmCodec.TagSize + Plain.Length + EnvelopeFormat.ChecksumSize, first.Length);
    }

    [Fact]
    public void Payload_OpenedAsAnotherItemOrKind_FailsAuthentication()
    {
        var codec = new AesGcmCodec(new EncryptionKeyRing([Key("k1")]));
        byte[] stored = codec.Encode(Plain, new PayloadContext(PayloadKind.Task, "t1", "k1"));

        Assert.ThrowsAny<CryptographicException>(() => codec.Decode(stored, new PayloadContext(PayloadKind.Task, "t2", "k1")));
        Assert.ThrowsAny<CryptographicException>(() => codec.Decode(stored, new PayloadContext(PayloadKind.Session, "t1", "k1")));
        Assert.Equal(Plain, codec.Decode(stored, new PayloadContext(PayloadKind.Task, "t1", "k1")));
    }

    [Fact]
    public void Payload_RelabelledWithAnotherKeyIdOfTheSameMaterial_FailsAuthentication()
    {
        // k2 has k1's material: only the key id in the associated data tells them apart.
        var codec = new AesGcmCodec(new EncryptionKeyRing([Key("k1"), Key("k2", EncryptionKeyState.Retired)]));
        byte[] stored = codec.Encode(Plain, new PayloadContext(PayloadKind.Task, "t1", "k1"));

        Assert.ThrowsAny<CryptographicException>(() => codec.Decode(stored, new PayloadContext(PayloadKind.Task, "t1", "k2")));
    }

    [Fact]
    public void MissingOrRevokedKey_IsRefusedByTheEnvelope_AsNotCorruption_NamingKeyAndFile()
    {
        byte[] stored = new PayloadEnvelope(new AesGcmCodec(new EncryptionKeyRing([Key("k1")]))).Seal(PayloadKind.Snapshot, "state", Plain);
        var without = new PayloadEnvelope(new AesGcmCodec(new EncryptionKeyRing([Key("k9", seed: 9)])));
        var revoked = new PayloadEnvelope(new AesGcmCodec(new EncryptionKeyRing([Key("k9", seed: 9), Key("k1", EncryptionKeyState.Revoked)])));
        var retired = new PayloadEnvelope(new AesGcmCodec(new EncryptionKeyRing([Key("k9", seed: 9), Key("k1", EncryptionKeyState.Retired)])));

        var missing = Assert.Throws<StateFormatException>(() => without.Open(PayloadKind.Snapshot, "state", stored, "/s/state.json"));
        var refused = Assert.Throws<StateFormatException>(() => revoked.Open(PayloadKind.Snapshot, "state", stored, "/s/state.json"));

        Assert.Contains("'k1'", missing.Message, StringComparison.Ordinal);
        Assert.Contains("/s/state.json", missing.Message, StringComparison.Ordinal);
        Assert.Equal("/s/state.json", missing.Path);
        Assert.Contains("revoked", refused.Message, StringComparison.Ordinal);
        Assert.Equal(Plain, retired.Open(PayloadKind.Snapshot, "state", stored, "/s/state.json"));
    }

    [Fact]
    public void DamagedCiphertextUnderAKeyTheRingHolds_IsDamage_UnlessItsChecksumWasRecomputed()
    {
        var envelope = new PayloadEnvelope(new AesGcmCodec(new EncryptionKeyRing([Key("k1")])));
        byte[] stored = envelope.Seal(PayloadKind.Report, "r1", Plain);
        stored[^6] ^= 0x80;

        var error = Assert.Throws<InvalidDataException>(() => envelope.Open(PayloadKind.Report, "r1", stored, "reports/report_r1.json"));
        Assert.Contains("checksum fails", error.Message, StringComparison.Ordinal);

        // Intact-looking bytes that do not authenticate: other key material under 'k1', or a deliberate change. Refused.
        var context = new PayloadContext(PayloadKind.Report, "r1", null);
        BinaryPrimitives.WriteUInt32LittleEndian(stored.AsSpan(stored.Length - 4), EnvelopeFormat.Checksum(context.AssociatedData(), stored.AsSpan(0, stored.Length - 4)));
        var refused = Assert.Throws<StateFormatException>(() => envelope.Open(PayloadKind.Report, "r1", stored, "reports/report_r1.json"));
        Assert.True(refused.KeyMaterialDiffers);
        Assert.Equal("k1", refused.KeyId);
    }

    [Fact]
    public void StreamedPayload_IsSealedWhole_AndOpens()
    {
        var envelope = new PayloadEnvelope(new AesGcmCodec(new EncryptionKeyRing([Key("k1")])));
        using var output = new MemoryStream();
        using (Stream sealing = envelope.SealStream(PayloadKind.Snapshot, "state", output))
        {
            sealing.Write(Plain.AsSpan(0, 10));
            sealing.Write(Plain.AsSpan(10));
        }

        Assert.Equal(Plain, envelope.Open(PayloadKind.Snapshot, "state", output.ToArray(), "state.json"));
        Assert.False(output.ToArray().AsSpan().IndexOf(Encoding.UTF8.GetBytes("secret")) >= 0);
    }
}
