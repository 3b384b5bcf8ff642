using System.Security.Cryptography;

namespace StatePersistence.FileStore.Operations;

/// <summary>
/// Passes reads through to <paramref name="inner"/> (left open) while adding every byte to a SHA-256 and a count, and
/// keeping the last <see cref="TailLength"/> of them: what an import's check read of the archive (the digest its
/// marker names, and the gzip trailer <see cref="CheckedGzipReader"/> judges, both from the one pass), and what its
/// writing pass read, compared with those. Read only, forward only, as a decompressor reads.
/// </summary>
internal sealed class DigestingReadStream(Stream inner) : Stream
{
    /// <summary>How many of the last bytes read <see cref="Tail"/> keeps: a gzip trailer's length.</summary>
    public const int TailLength = 8;

    private readonly IncrementalHash _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _tail = new byte[TailLength];
    private long _bytes;

    /// <summary>The last bytes read (fewer than <see cref="TailLength"/> only when fewer were read in all).</summary>
    public ReadOnlySpan<byte> Tail => _tail.AsSpan(TailLength - (int)Math.Min(_bytes, TailLength));

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int read = inner.Read(buffer);
        _sha256.AppendData(buffer[..read]);
        _bytes += read;
        KeepTail(buffer[..read]);
        return read;
    }

    /// <summary>
    /// Reads what the reader above left (a decompressor stops where the tar ends, before the gzip trailer), so the
    /// digest covers the file to its end; returns how many bytes were read in all and their SHA-256 (lower-case hex).
    /// </summary>
    public (long Bytes, string Sha256) ReadToEnd()
    {
        byte[] buffer = new byte[1 << 16];
        while (Read(buffer) > 0)
        {
        }

        return (_bytes, Convert.ToHexStringLower(_sha256.GetHashAndReset()));
    }

    private void KeepTail(ReadOnlySpan<byte> read)
    {
        if (read.Length >= TailLength)
        {
            read[^TailLength..].CopyTo(_tail);
            return;
        }

        // The kept bytes move up by what was read (an overlapping copy, which Span's CopyTo makes as memmove does).
        _tail.AsSpan(read.Length).CopyTo(_tail);
        read.CopyTo(_tail.AsSpan(TailLength - read.Length));
    }

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
            _sha256.Dispose();
        }

        base.Dispose(disposing);
    }
}
