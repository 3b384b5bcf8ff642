using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Security.Cryptography;

namespace StatePersistence.Serialization.Envelope;

/// <summary>
/// Envelope version 2: a standalone payload sealed in segments, so that neither writing nor reading it needs a second
/// full copy in memory (a snapshot of 100k tasks is hundreds of MiB). The design is the STREAM construction (as in
/// Tink's streaming AEAD): every segment is sealed on its own by the codec, with its own nonce and tag, and bound by
/// its associated data (<see cref="PayloadSegment"/>) to the payload's kind and id, a random stream id drawn per file,
/// its index and whether it is the last one. So a segment swapped with one of another file, moved to another
/// position, or a stream cut short at a segment boundary (its new last segment was sealed as "not last") fails
/// authentication.
/// <para>Layout (integers little-endian): the version 1 header with version 2 (magic <c>SPEV</c>, 2, flags 0, codec id
/// length, key id length, codec id, key id), the segment size (4: plain bytes per segment), the stream id (16), then
/// per segment its stored length (4) and the codec's output, and the CRC-32 trailer of (associated data, every byte
/// before it) every standalone envelope ends with. Every segment but the last holds exactly the segment size.</para>
/// </summary>
internal static class SegmentedEnvelope
{
    /// <summary>Plain bytes per segment: small enough to stay off the large object heap, large enough that the 32
    /// bytes each costs (length, nonce, tag) are 0.05%.</summary>
    public const int DefaultSegmentSize = 64 * 1024;

    public const int StreamIdSize = 16;

    /// <summary>The segment size and the stream id, after the key id.</summary>
    public const int ParametersSize = 4 + StreamIdSize;

    /// <summary>The largest segment size read; a larger one is damage.</summary>
    private const int MaxSegmentSize = 16 * 1024 * 1024;

    /// <summary>Reads up to <paramref name="buffer"/>.Length bytes at <paramref name="offset"/>; returns how many.</summary>
    public delegate int ReadAt(long offset, Span<byte> buffer);

    /// <summary>Whether <paramref name="stored"/> starts a segmented envelope.</summary>
    public static bool IsSegmented(ReadOnlySpan<byte> stored) =>
        EnvelopeFormat.HasMagic(stored) && stored.Length > 4 && stored[4] == EnvelopeFormat.SegmentedVersion;

    /// <summary>The header of a segmented envelope.</summary>
    public static byte[] Header(string codec, string? keyId, int segmentSize, ReadOnlySpan<byte> streamId)
    {
        byte[] names = EnvelopeFormat.Header(codec, keyId);
        var header = new byte[names.Length + ParametersSize];
        names.CopyTo(header, 0);
        header[4] = EnvelopeFormat.SegmentedVersion;
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(names.Length), segmentSize);
        streamId.CopyTo(header.AsSpan(names.Length + 4));
        return header;
    }

    /// <summary>The context one segment is sealed and opened with.</summary>
    public static PayloadContext SegmentContext(PayloadContext payload, string streamId, int segmentSize, long index, bool isLast) =>
        payload with { Segment = new PayloadSegment(streamId, segmentSize, index, isLast) };

    /// <summary>
    /// The plain bytes of a segmented envelope read through <paramref name="source"/>, decoded segment by segment into
    /// one buffer of the plain size. Damage (a checksum that fails, a length that does not fit) throws
    /// <see cref="InvalidDataException"/>; an intact envelope of another codec, under a key the ring does not hold, or
    /// whose segment does not authenticate although the checksum holds, throws <see cref="Errors.StateFormatException"/>,
    /// as for a payload sealed whole.
    /// </summary>
    public static byte[] Open(Source source, IPayloadCodec configured, PayloadContext context, string path)
    {
        var reader = new SegmentReader(source, context);
        reader.ReadHeader();
        IPayloadCodec codec;
        if (reader.Codec == IdentityCodec.CodecName)
        {
            codec = IdentityCodec.Instance;
        }
        else if (reader.Codec == configured.Name)
        {
            codec = configured;
        }
        else
        {
            reader.ThrowUnlessChecksumHolds();
            throw PayloadEnvelope.OtherCodec(path, reader.Codec, reader.KeyId, configured.Name);
        }

        try
        {
            return reader.Decode(codec);
        }
        catch (PayloadKeyUnavailableException ex)
        {
            // Only an intact file is refused for its key: a key id damaged in the header is damage, like any other.
            reader.ThrowUnlessChecksumHolds();
            throw PayloadEnvelope.KeyUnavailable(path, reader.KeyId, ex);
        }
        catch (AuthenticationTagMismatchException)
        {
            // Segments are decoded before the trailer is reached: only when the whole file's checksum holds is a tag
            // that fails the wrong key material rather than damage.
            reader.ThrowUnlessChecksumHolds();
            throw PayloadEnvelope.KeyMaterialDiffers(path, reader.KeyId);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            throw new InvalidDataException($"codec '{reader.Codec}' cannot decode the payload ({ex.Message}): it was damaged, or belongs to another {ItemJsonEnvelope.KindName(context.Kind)} than '{context.Id}'", ex);
        }
    }

    /// <summary>Where a segmented envelope is read from: its length and positional reads.</summary>
    public sealed record Source(long Length, ReadAt Read)
    {
        /// <summary>Fills <paramref name="buffer"/> from <paramref name="offset"/>; the content ending first is damage.</summary>
        public void ReadExactly(long offset, Span<byte> buffer)
        {
            int total = 0;
            while (total < buffer.Length)
            {
                int read = Read(offset + total, buffer[total..]);
                if (read == 0)
                {
                    throw new InvalidDataException($"the content ends at byte {offset + total}, before the {buffer.Length} bytes at {offset} its envelope describes");
                }

                total += read;
            }
        }
    }

    /// <summary>One pass over a segmented envelope's bytes.</summary>
    private sealed class SegmentReader(Source source, PayloadContext context)
    {
        private readonly List<(long Offset, int Length)> _segments = [];
        private byte[] _header = [];
        private string _streamId = "";
        private int _segmentSize;

        public string Codec { get; private set; } = "";

        public string? KeyId { get; private set; }

        private long BodyEnd => source.Length - EnvelopeFormat.ChecksumSize;

        public void ReadHeader()
        {
            int maxHeader = EnvelopeFormat.FixedHeaderSize + (2 * byte.MaxValue) + ParametersSize;
            var head = new byte[(int)Math.Min(maxHeader, Math.Max(0, source.Length - EnvelopeFormat.ChecksumSize))];
            source.ReadExactly(0, head);
            int at = EnvelopeFormat.ReadHeader(head, out _, out string codec, out string? keyId);
            if (at < 0 || at + ParametersSize > head.Length)
            {
                throw new InvalidDataException("the envelope's header is longer than the content");
            }

            Codec = codec;
            KeyId = keyId;
            _segmentSize = BinaryPrimitives.ReadInt32LittleEndian(head.AsSpan(at));
            if (_segmentSize is <= 0 or > MaxSegmentSize)
            {
                throw new InvalidDataException($"the envelope's segment size {_segmentSize} is not between 1 and {MaxSegmentSize}");
            }

            _streamId = Convert.ToHexString(head, at + 4, StreamIdSize);
            _header = head[..(at + ParametersSize)];
        }

        /// <summary>Decodes every segment; the checksum is verified as the bytes go by, so the file is read once.</summary>
        public byte[] Decode(IPayloadCodec codec)
        {
            FindSegments();

            // Every segment but the last holds exactly the segment size, so the last one gives the plain size.
            int last = _segments.Count - 1;
            byte[] lastPlain = DecodeSegment(codec, last, ReadSegment(last, out byte[] lastRented));
            ArrayPool<byte>.Shared.Return(lastRented);
            long plainLength = ((long)last * _segmentSize) + lastPlain.Length;
            if (plainLength > Array.MaxLength)
            {
                throw new InvalidDataException($"the payload's {plainLength} plain bytes are more than one buffer holds");
            }

            var plain = new byte[plainLength];
            var crc = new Crc32();
            crc.Append(context.AssociatedData());
            crc.Append(_header);
            for (int i = 0; i < _segments.Count; i++)
            {
                ReadOnlySpan<byte> stored = ReadSegment(i, out byte[] rented);
                try
                {
                    crc.Append(stored);
                    if (i < last && codec is Encryption.AesGcmCodec aes)
                    {
                        // Straight into the buffer: no per-segment array, no copy.
                        aes.DecodeInto(stored[4..], SegmentContext(context with { KeyId = KeyId }, _streamId, _segmentSize, i, isLast: false), plain.AsSpan(i * _segmentSize, _segmentSize));
                        continue;
                    }

                    byte[] segment = i == last ? lastPlain : DecodeSegment(codec, i, stored);
                    segment.CopyTo(plain, (long)i * _segmentSize);
                    CryptographicOperations.ZeroMemory(segment);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(rented);
                }
            }

            if (crc.GetCurrentHashAsUInt32() != StoredChecksum())
            {
                CryptographicOperations.ZeroMemory(plain);
                throw new InvalidDataException($"the envelope's checksum fails: the content was damaged after it was written, or belongs to another {ItemJsonEnvelope.KindName(context.Kind)} than '{context.Id}'");
            }

            return plain;
        }

        /// <summary>A separate pass over the whole file, for the error paths that must tell damage from a refusal.</summary>
        public void ThrowUnlessChecksumHolds()
        {
            var crc = new Crc32();
            crc.Append(context.AssociatedData());
            byte[] buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
            try
            {
                for (long at = 0; at < BodyEnd;)
                {
                    int count = (int)Math.Min(buffer.Length, BodyEnd - at);
                    source.ReadExactly(at, buffer.AsSpan(0, count));
                    crc.Append(buffer.AsSpan(0, count));
                    at += count;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            if (crc.GetCurrentHashAsUInt32() != StoredChecksum())
            {
                throw new InvalidDataException($"the envelope's checksum fails: the content was damaged after it was written, or belongs to another {ItemJsonEnvelope.KindName(context.Kind)} than '{context.Id}'");
            }
        }

        private void FindSegments()
        {
            Span<byte> length = stackalloc byte[4];
            for (long at = _header.Length; at < BodyEnd;)
            {
                source.ReadExactly(at, length);
                int stored = BinaryPrimitives.ReadInt32LittleEndian(length);
                if (stored < 0 || at + 4 + stored > BodyEnd)
                {
                    throw new InvalidDataException($"segment {_segments.Count} ({stored} bytes at {at}) runs past the end of the content");
                }

                _segments.Add((at, stored));
                at += 4 + stored;
            }

            if (_segments.Count == 0)
            {
                throw new InvalidDataException("the envelope holds no segment");
            }
        }

        /// <summary>Segment <paramref name="index"/>'s bytes, its length first, in a rented buffer the caller returns.</summary>
        private ReadOnlySpan<byte> ReadSegment(int index, out byte[] rented)
        {
            (long offset, int length) = _segments[index];
            rented = ArrayPool<byte>.Shared.Rent(4 + length);
            source.ReadExactly(offset, rented.AsSpan(0, 4 + length));
            return rented.AsSpan(0, 4 + length);
        }

        private byte[] DecodeSegment(IPayloadCodec codec, int index, ReadOnlySpan<byte> stored)
        {
            bool isLast = index == _segments.Count - 1;
            byte[] plain = codec.Decode(stored[4..], SegmentContext(context with { KeyId = KeyId }, _streamId, _segmentSize, index, isLast));
            if (isLast ? plain.Length > _segmentSize : plain.Length != _segmentSize)
            {
                throw new InvalidDataException($"segment {index} holds {plain.Length} plain bytes; the envelope's segments hold {_segmentSize}{(isLast ? " at most" : "")}");
            }

            return plain;
        }

        private uint StoredChecksum()
        {
            Span<byte> trailer = stackalloc byte[EnvelopeFormat.ChecksumSize];
            source.ReadExactly(BodyEnd, trailer);
            return BinaryPrimitives.ReadUInt32LittleEndian(trailer);
        }
    }
}
