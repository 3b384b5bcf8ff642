using System.Globalization;
using System.IO.Hashing;

namespace StatePersistence.FileStore.Snapshot;

/// <summary>
/// The integrity check a snapshot carries (format 2.1): a last property <c>"checksum": "crc32:&lt;8 hex&gt;"</c>
/// whose CRC-32 covers every byte of the (decoded) JSON before the comma that precedes it. The file stays plain JSON;
/// a reader that does not know the property sees one more field.
/// </summary>
internal static class SnapshotChecksum
{
    public const string PropertyName = "checksum";

    private const string Prefix = "crc32:";

    public static string Format(uint crc) => Prefix + crc.ToString("x8", CultureInfo.InvariantCulture);

    /// <summary>Throws <see cref="InvalidDataException"/> unless <paramref name="stored"/> is the CRC of <paramref name="covered"/>.</summary>
    public static void Verify(ReadOnlySpan<byte> covered, string? stored)
    {
        if (stored is null || !stored.StartsWith(Prefix, StringComparison.Ordinal)
            || !uint.TryParse(stored.AsSpan(Prefix.Length), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out uint expected)
            || stored.Length != Prefix.Length + 8)
        {
            throw new InvalidDataException($"the checksum '{stored}' is not of the form {Prefix}<8 hex digits>");
        }

        uint actual = Crc32.HashToUInt32(covered);
        if (actual != expected)
        {
            throw new InvalidDataException($"the checksum does not match the content (stored {stored}, computed {Format(actual)}): the file was changed after it was written");
        }
    }

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
