namespace StatePersistence.Testing.CrashSimulation;

/// <summary>The bytes of one simulated inode: a growable buffer.</summary>
internal sealed class FileData
{
    private byte[] _buffer;

    public FileData(ReadOnlySpan<byte> contents = default)
    {
        _buffer = contents.ToArray();
        Length = contents.Length;
    }

    public int Length { get; private set; }

    public ReadOnlySpan<byte> Contents => _buffer.AsSpan(0, Length);

    public FileData Clone() => new(Contents);

    public int Read(long offset, Span<byte> destination)
    {
        if (offset >= Length)
        {
            return 0;
        }

        int count = Math.Min(destination.Length, Length - (int)offset);
        _buffer.AsSpan((int)offset, count).CopyTo(destination);
        return count;
    }

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        int end = CheckedEnd(offset, data.Length);
        EnsureCapacity(end);
        if (offset > Length)
        {
            // A write past the end leaves a hole, which reads as zeros.
            _buffer.AsSpan(Length, (int)offset - Length).Clear();
        }

        data.CopyTo(_buffer.AsSpan((int)offset));
        Length = Math.Max(Length, end);
    }

    public void WriteZeros(long offset, int count)
    {
        int end = CheckedEnd(offset, count);
        EnsureCapacity(end);
        _buffer.AsSpan(Math.Min(Length, (int)offset), end - Math.Min(Length, (int)offset)).Clear();
        Length = Math.Max(Length, end);
    }

    public void SetLength(long length)
    {
        int newLength = CheckedEnd(length, 0);
        EnsureCapacity(newLength);
        if (newLength > Length)
        {
            _buffer.AsSpan(Length, newLength - Length).Clear();
        }

        Length = newLength;
    }

    private static int CheckedEnd(long offset, int count)
    {
        long end = offset + count;
        if (offset < 0 || end > Array.MaxLength)
        {
            // The simulator keeps files in one array; the store's files are far smaller than this.
            throw new IOException($"The simulated file system cannot hold a file of {end} bytes (File too large).", 27);
        }

        return (int)end;
    }

    private void EnsureCapacity(int capacity)
    {
        if (capacity > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(capacity, Math.Min(Array.MaxLength, Math.Max(_buffer.Length * 2, 256))));
        }
    }
}
