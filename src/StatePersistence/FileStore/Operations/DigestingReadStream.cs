using System.Security.Cryptography;

namespace StatePersistence.FileStore.Operations;

/// <summary>
/// Passes reads through to <paramref name="inner"/> (left open) while adding every byte to a SHA-256 and a count: the
/// bytes an import's writing pass read, compared with the ones the check read (<see cref="ImportMarker"/>) with no
/// pass of its own over the archive. Read only, forward only, as a decompressor reads.
/// </summary>
internal sealed class DigestingReadStream(Stream inner) : Stream
{
    private readonly IncrementalHash _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _bytes;

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
