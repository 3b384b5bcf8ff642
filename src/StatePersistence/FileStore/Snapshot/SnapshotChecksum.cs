using System.IO.Hashing;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.FileStore.Snapshot;

/// <summary>
/// The integrity check a snapshot carries (format 2.1): a last property <c>"checksum": "crc32:&lt;8 hex&gt;"</c>
/// whose CRC-32 covers every byte of the (decoded) JSON before the comma that precedes it. The file stays plain JSON;
/// a reader that does not know the property sees one more field. This is the plain-JSON form of the envelope for
/// snapshots (<see cref="PayloadEnvelope"/>); the check itself is the envelope's (<see cref="EnvelopeChecksum"/>).
/// </summary>
internal static class SnapshotChecksum
{
    public const string PropertyName = "checksum";

    public static string Format(uint crc) => EnvelopeChecksum.Format(crc);

    /// <summary>Throws <see cref="InvalidDataException"/> unless <paramref name="stored"/> is the CRC of <paramref name="covered"/>.</summary>
    public static void Verify(ReadOnlySpan<byte> covered, string? stored) => EnvelopeChecksum.Verify(covered, stored);

    /// <summary>Passes writes through while computing the CRC-32 of everything written.</summary>
    public sealed class HashingStream(Stream inner) : Stream
    {
        private readonly Crc32 _crc = new();

        public uint Current => _crc.GetCurrentHashAsUInt32();

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _crc.Append(buffer);
            inner.Write(buffer);
        }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
