using StatePersistence.Serialization;

namespace StatePersistence.Conformance;

/// <summary>
/// A codec that records what it is asked to decode, and otherwise is <paramref name="inner"/> (its name included, so
/// payloads it sealed read back). Not the identity codec: an envelope of the identity codec is read without the codec,
/// so only a codec of its own name sees every payload a store opens, in any store.
/// </summary>
public sealed class DecodeRecordingCodec(IPayloadCodec inner) : IPayloadCodec
{
    private readonly List<PayloadContext> _decoded = [];

    /// <inheritdoc />
    public string Name => inner.Name;

    /// <inheritdoc />
    public string? KeyId => inner.KeyId;

    /// <summary>The payloads of <paramref name="kind"/> decoded since the last <see cref="Clear"/>, by id.</summary>
    public IReadOnlyList<string> Decoded(PayloadKind kind)
    {
        lock (_decoded)
        {
            return [.. _decoded.Where(c => c.Kind == kind).Select(c => c.Id)];
        }
    }

    /// <summary>Forgets what was decoded so far.</summary>
    public void Clear()
    {
        lock (_decoded)
        {
            _decoded.Clear();
        }
    }

    /// <inheritdoc />
    public byte[] Encode(ReadOnlySpan<byte> plain, PayloadContext context) => inner.Encode(plain, context);

    /// <inheritdoc />
    public byte[] Decode(ReadOnlySpan<byte> stored, PayloadContext context)
    {
        lock (_decoded)
        {
            _decoded.Add(context);
        }

        return inner.Decode(stored, context);
    }
}
