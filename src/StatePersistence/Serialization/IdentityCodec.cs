namespace StatePersistence.Serialization;

/// <summary>
/// Stores plain JSON: what is written is what the serializer produced. Files it writes stay readable (the envelope
/// takes a plain-JSON form for it: a trailing checksum or a small wrapper), and files without an envelope, as older
/// versions wrote them, are read as identity-coded.
/// </summary>
public sealed class IdentityCodec : IPayloadCodec
{
    /// <summary>The codec id recorded in envelopes.</summary>
    internal const string CodecName = "identity";

    /// <summary>The shared instance.</summary>
    public static IdentityCodec Instance { get; } = new();

    /// <inheritdoc />
    public string Name => CodecName;

    /// <inheritdoc />
    public byte[] Encode(ReadOnlySpan<byte> plain, PayloadContext context) => plain.ToArray();

    /// <inheritdoc />
    public byte[] Decode(ReadOnlySpan<byte> stored, PayloadContext context) => stored.ToArray();
}
