using StatePersistence.FileSystem;

namespace StatePersistence.Testing;

/// <summary>
/// Passes every call through, except that a single read of more than <c>maxRead</c> bytes from a file whose path
/// passes the filter fails: a way to prove that an operation streams a large file (reads it a frame or a block at a
/// time) rather than reading it whole into one buffer, without asserting on memory figures.
/// </summary>
internal sealed class BoundedReadFileSystem(IFileSystem inner, Func<string, bool> bounded, int maxRead) : PassThroughFileSystem(inner)
{
    /// <summary>The most bytes one read of a bounded file may ask for.</summary>
    public int MaxRead => maxRead;

    /// <summary>The largest single read asked of a bounded file so far.</summary>
    public int LargestRead { get; private set; }

    /// <summary>How many bytes the reads of bounded files have returned so far (<see cref="ResetBytesRead"/> starts again).</summary>
    public long BytesRead => Interlocked.Read(ref _bytesRead);

    private long _bytesRead;

    public void ResetBytesRead() => Interlocked.Exchange(ref _bytesRead, 0);

    public override IFileHandle Open(string path, FileOpenMode mode)
    {
        IFileHandle handle = Inner.Open(path, mode);
        return bounded(path) ? new BoundedHandle(handle, this) : handle;
    }

    /// <summary>How many times a directory was listed so far.</summary>
    public int ListingsOf(string directory) => _listings.GetValueOrDefault(Path.GetFullPath(directory));

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _listings = new(StringComparer.Ordinal);

    public override IReadOnlyList<string> ListFiles(string directory)
    {
        _listings.AddOrUpdate(Path.GetFullPath(directory), 1, (_, n) => n + 1);
        return Inner.ListFiles(directory);
    }

    private sealed class BoundedHandle(IFileHandle handle, BoundedReadFileSystem owner) : IFileHandle, IWrappingFileHandle
    {
        public IFileHandle Inner => handle;

        public string Path => handle.Path;

        public long Length => handle.Length;

        public int Read(long offset, Span<byte> buffer)
        {
            owner.LargestRead = Math.Max(owner.LargestRead, buffer.Length);
            if (buffer.Length > owner.MaxRead)
            {
                throw new InvalidOperationException($"A read of {buffer.Length} bytes at once from '{handle.Path}' (the limit is {owner.MaxRead}): the file is being read whole.");
            }

            int read = handle.Read(offset, buffer);
            Interlocked.Add(ref owner._bytesRead, read);
            return read;
        }

        public void Write(long offset, ReadOnlySpan<byte> data) => handle.Write(offset, data);

        public void SetLength(long length) => handle.SetLength(length);

        public void Sync() => handle.Sync();

        public void Dispose() => handle.Dispose();

        public bool IsStillAtPath() => handle.IsStillAtPath();
    }
}
