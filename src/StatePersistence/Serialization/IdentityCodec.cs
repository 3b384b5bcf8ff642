namespace StatePersistence.Serialization;

/// <summary>Stores plain JSON: what is written is what the serializer produced.</summary>
public sealed class IdentityCodec : IPayloadCodec
{
    /// <summary>The shared instance.</summary>
    public static IdentityCodec Instance { get; } = new();

    /// <inheritdoc />
    public string Name => "identity";

    /// <inheritdoc />
    public byte[] Encode(ReadOnlySpan<byte> plain) => plain.ToArray();

    /// <inheritdoc />
    public byte[] Decode(ReadOnlySpan<byte> stored) => stored.ToArray();

    /// <inheritdoc />
    public Stream EncodeStream(Stream inner) => inner;

    /// <inheritdoc />
    public Stream DecodeStream(Stream inner) => inner;
}
