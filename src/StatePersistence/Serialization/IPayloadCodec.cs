namespace StatePersistence.Serialization;

/// <summary>
/// The seam between serialized JSON and the bytes written to storage. Every file the store writes (snapshot,
/// task and session files, journal records, reports) passes through it, so compression or encryption can be added
/// without touching callers. The default, <see cref="IdentityCodec"/>, writes plain, hand-editable JSON.
/// </summary>
public interface IPayloadCodec
{
    /// <summary>A short name recorded in diagnostics, for example <c>identity</c>.</summary>
    string Name { get; }

    /// <summary>Turns plain bytes into stored bytes.</summary>
    byte[] Encode(ReadOnlySpan<byte> plain);

    /// <summary>Turns stored bytes back into plain bytes; throws <see cref="System.IO.InvalidDataException"/> when they cannot be decoded.</summary>
    byte[] Decode(ReadOnlySpan<byte> stored);

    /// <summary>
    /// Wraps a stream being written so that what is written through it is encoded. Disposing the wrapper flushes
    /// its last block and leaves <paramref name="inner"/> open; a codec that needs no wrapper returns
    /// <paramref name="inner"/> itself, which the caller then does not dispose.
    /// </summary>
    Stream EncodeStream(Stream inner);

    /// <summary>Wraps a stream being read so that what is read through it is decoded.</summary>
    Stream DecodeStream(Stream inner);
}
