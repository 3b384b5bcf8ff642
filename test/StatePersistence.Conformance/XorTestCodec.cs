using StatePersistence.Serialization;

namespace StatePersistence.Conformance;

/// <summary>
/// A test codec that is not the identity: a 4-byte marker, then every byte XORed with a key. Enough to show that
/// a store really encodes (no plain text survives) and really decodes (everything reads back), and strict on read:
/// bytes without the marker are not its output and are refused.
/// </summary>
public sealed class XorTestCodec : IPayloadCodec
{
    private const byte Key = 0x5A;
    private static readonly byte[] Marker = "XOR1"u8.ToArray();

    /// <inheritdoc />
    public string Name => "xor-test";

    /// <inheritdoc />
    public byte[] Encode(ReadOnlySpan<byte> plain, PayloadContext context)
    {
        var stored = new byte[Marker.Length + plain.Length];
        Marker.CopyTo(stored, 0);
        for (int i = 0; i < plain.Length; i++)
        {
            stored[Marker.Length + i] = (byte)(plain[i] ^ Key);
        }

        return stored;
    }

    /// <inheritdoc />
    public byte[] Decode(ReadOnlySpan<byte> stored, PayloadContext context)
    {
        if (!stored.StartsWith(Marker))
        {
            throw new InvalidDataException("The bytes were not written by the xor-test codec (no XOR1 marker).");
        }

        var plain = new byte[stored.Length - Marker.Length];
        for (int i = 0; i < plain.Length; i++)
        {
            plain[i] = (byte)(stored[Marker.Length + i] ^ Key);
        }

        return plain;
    }
}
