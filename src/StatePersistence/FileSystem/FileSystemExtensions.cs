namespace StatePersistence.FileSystem;

/// <summary>Conveniences built only on <see cref="IFileSystem"/>, so every implementation gets them.</summary>
internal static class FileSystemExtensions
{
    /// <summary>Reads a whole file.</summary>
    public static byte[] ReadAllBytes(this IFileSystem fileSystem, string path)
    {
        using IFileHandle handle = fileSystem.Open(path, FileOpenMode.Read);
        long length = handle.Length;
        if (length > Array.MaxLength)
        {
            throw new IOException($"'{path}' is {length} bytes, too large to read at once.");
        }

        var buffer = new byte[length];
        int total = 0;
        while (total < buffer.Length)
        {
            int read = handle.Read(total, buffer.AsSpan(total));
            if (read == 0)
            {
                Array.Resize(ref buffer, total);
                break;
            }

            total += read;
        }

        return buffer;
    }
}
