using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace StatePersistence.FileStore.Operations;

/// <summary>
/// Reads a one-member gzip file (an export or a task archive) as it decompresses, adding every byte to a CRC-32 and
/// a count, so that <see cref="TrailerProblem"/> can check the member's trailer once the tar is read. .NET's
/// <see cref="GZipStream"/> ends quietly where the compressed bytes end: a file cut anywhere in its 8-byte trailer
/// (CRC-32 and length of what it holds) read as whole, where <c>gzip -t</c> says "unexpected end of file"; and the
/// tar reader stops at the tar's end, before the decompressor reaches a trailer that is there, so a changed one passed
/// too. Only the first member is read (the writers of this library write one; anything after it is not the trailer
/// the file must end with, and is refused). Nothing is
/// held but a buffer, so an archive of gigabytes is checked in bounded memory. <paramref name="compressed"/> is read
/// once, forward, from where it stands to its end (the trailer judged is the last bytes that read met, not a second
/// read of the file), through a <see cref="DigestingReadStream"/> whose <see cref="Digest"/> names the bytes checked;
/// it is left open.
/// </summary>
internal sealed class CheckedGzipReader(Stream compressed) : Stream
{
    private const int TrailerLength = DigestingReadStream.TailLength;

    private readonly DigestingReadStream _compressed = new(compressed);
    private readonly Crc32 _crc = new();
    private (long Bytes, string Sha256)? _digest;
    private DeflateStream? _deflate;
    private long _decompressed;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        // The member's header is read here and its deflate data through a DeflateStream, which checks no trailer: a
        // GZipStream checks one that is there but says of a wrong one only "compressed using an unsupported
        // compression method", blaming whatever entry was being read.
        _deflate ??= new DeflateStream(SkipHeader(_compressed), CompressionMode.Decompress, leaveOpen: true);
        int read = _deflate.Read(buffer);
        _crc.Append(buffer[..read]);
        _decompressed += read;
        return read;
    }

    /// <summary>
    /// The size and SHA-256 of the compressed bytes read, from where the stream stood to its end: set by
    /// <see cref="TrailerProblem"/>, whose read reaches the end.
    /// </summary>
    public (long Bytes, string Sha256) Digest => _digest ?? throw new InvalidOperationException("The digest is known once TrailerProblem has read the file to its end.");

    /// <summary>
    /// Reads what the tar reader left unread (the tar's closing blocks) and the file to its end, then compares its last
    /// 8 bytes with the CRC-32 and length (mod 2^32) of everything decompressed: null when they match, so the trailer
    /// is there and nothing follows it (a second member or bytes appended would be what the file ends with), else why not.
    /// </summary>
    public string? TrailerProblem()
    {
        byte[] buffer = new byte[1 << 16];
        while (Read(buffer) > 0)
        {
        }

        (long Bytes, string Sha256) digest = _compressed.ReadToEnd();
        _digest = digest;
        uint crc = _crc.GetCurrentHashAsUInt32();
        uint length = unchecked((uint)_decompressed);
        if (digest.Bytes < TrailerLength)
        {
            return $"it ends before its gzip trailer ({digest.Bytes} bytes in all): it is truncated";
        }

        ReadOnlySpan<byte> trailer = _compressed.Tail;
        bool crcMatches = BinaryPrimitives.ReadUInt32LittleEndian(trailer) == crc;
        bool lengthMatches = BinaryPrimitives.ReadUInt32LittleEndian(trailer[4..]) == length;
        return (crcMatches, lengthMatches) switch
        {
            (true, true) => null,
            // One half in place: the trailer is there, and it or what it covers was changed. Neither: the file ends
            // elsewhere than after the trailer (cut short, or a trailer that is all wrong).
            (false, true) => $"its gzip trailer's CRC-32 does not match the {_decompressed} bytes it decompresses to: it is damaged",
            (true, false) => $"its gzip trailer's length does not match the {_decompressed} bytes it decompresses to: it is damaged",
            _ => $"it ends before its gzip trailer (its last {TrailerLength} bytes are not the CRC-32 and length of the {_decompressed} bytes it decompresses to): it is truncated",
        };
    }

    /// <summary>Reads the gzip member's header (RFC 1952: 10 bytes, then the optional fields its flags announce).</summary>
    private static Stream SkipHeader(Stream stream)
    {
        Span<byte> header = stackalloc byte[10];
        int read = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        if (read < header.Length || header[0] != 0x1f || header[1] != 0x8b || header[2] != 8)
        {
            throw new InvalidDataException(read < header.Length && read >= 2 && header[0] == 0x1f && header[1] == 0x8b
                ? "it ends inside its gzip header"
                : "it is not gzip-compressed (no gzip header at its start)");
        }

        byte flags = header[3];
        if ((flags & 0x04) != 0)
        {
            Span<byte> length = stackalloc byte[2];
            stream.ReadExactly(length);
            Skip(stream, BinaryPrimitives.ReadUInt16LittleEndian(length));
        }

        for (int zeroTerminated = 0x08; zeroTerminated <= 0x10; zeroTerminated <<= 1)
        {
            if ((flags & zeroTerminated) != 0)
            {
                int b;
                while ((b = stream.ReadByte()) > 0)
                {
                }

                if (b < 0)
                {
                    throw new EndOfStreamException("it ends inside its gzip header");
                }
            }
        }

        if ((flags & 0x02) != 0)
        {
            Skip(stream, 2);
        }

        return stream;
    }

    /// <summary>Reads past <paramref name="count"/> bytes (read, not sought: every byte of the file passes the digest).</summary>
    private static void Skip(Stream stream, int count) => stream.ReadExactly(new byte[count]);

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _deflate?.Dispose();
            _compressed.Dispose();
        }

        base.Dispose(disposing);
    }
}
