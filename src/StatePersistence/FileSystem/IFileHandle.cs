namespace StatePersistence.FileSystem;

/// <summary>An open file. Reads and writes take explicit offsets, like <see cref="RandomAccess"/>.</summary>
internal interface IFileHandle : IDisposable
{
    /// <summary>The file's path.</summary>
    string Path { get; }

    /// <summary>The file's current length.</summary>
    long Length { get; }

    /// <summary>Reads up to <paramref name="buffer"/>.Length bytes at <paramref name="offset"/>; returns how many.</summary>
    int Read(long offset, Span<byte> buffer);

    /// <summary>Writes <paramref name="data"/> at <paramref name="offset"/>, extending the file as needed.</summary>
    void Write(long offset, ReadOnlySpan<byte> data);

    /// <summary>Changes the file's length.</summary>
    void SetLength(long length);

    /// <summary>
    /// Makes the file's data and length durable (fdatasync on Linux, fsync elsewhere). A failure means they may not
    /// be, and the kernel may have dropped the pages: a later successful call proves nothing about them.
    /// </summary>
    void Sync();

    /// <summary>
    /// Whether this handle's file is still the one at <see cref="Path"/>: false once the file, or a directory above
    /// it, was deleted, moved or replaced while open, so that data written here is durable nowhere a restart looks.
    /// The default (for file systems nothing else can change behind the store's back) is true.
    /// </summary>
    bool IsStillAtPath() => true;
}
