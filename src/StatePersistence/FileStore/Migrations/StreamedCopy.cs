using System.Security.Cryptography;
using StatePersistence.FileSystem;
using StatePersistence.Storage;

namespace StatePersistence.FileStore.Migrations;

/// <summary>
/// The backup's and the rollback's hashes and copies of files, a block at a time: a session log of gigabytes takes the
/// memory of a block. A rollback read each file whole, which cost twice the largest file in memory and failed past
/// 2 GiB ("too large to read at once"), so such a directory could not be rolled back, and an interrupted migration's
/// automatic rollback left it unopenable.
/// </summary>
internal static class StreamedCopy
{
    private const int BlockSize = 1 << 16;

    /// <summary>The length and SHA-256 of a file; null when there is no file.</summary>
    public static (long Length, string Sha256)? Fingerprint(IFileSystem fileSystem, string path)
    {
        if (!fileSystem.FileExists(path))
        {
            return null;
        }

        using IFileHandle handle = fileSystem.Open(path, FileOpenMode.Read);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var input = new FileHandleRangeStream(handle, handle.Length);
        byte[] block = new byte[BlockSize];
        long length = 0;
        for (int read; (read = input.Read(block)) > 0;)
        {
            hash.AppendData(block, 0, read);
            length += read;
        }

        return (length, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    /// <summary>
    /// Copies <paramref name="source"/> to <paramref name="target"/> atomically (temp file, fsync, rename; the directory
    /// fsynced when <paramref name="syncDirectory"/>), hashing what it copies. <paramref name="check"/>, given what was
    /// copied, may throw to refuse it: it runs before the rename, so a refused copy never replaces the target.
    /// Returns the length and SHA-256 of what was copied.
    /// </summary>
    public static (long Length, string Sha256) Copy(IFileSystem fileSystem, StateLayout layout, string source, string target, bool syncDirectory,
        Action<(long Length, string Sha256)>? check = null)
    {
        using IFileHandle handle = fileSystem.Open(source, FileOpenMode.Read);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long length = handle.Length;
        (long Length, string Sha256) copied = default;
        AtomicFile.Write(fileSystem, layout, target, output =>
        {
            using var input = new FileHandleRangeStream(handle, length);
            byte[] block = new byte[BlockSize];
            long total = 0;
            for (int read; (read = input.Read(block)) > 0;)
            {
                hash.AppendData(block, 0, read);
                output.Write(block, 0, read);
                total += read;
            }

            copied = (total, Convert.ToHexStringLower(hash.GetHashAndReset()));
            check?.Invoke(copied);
        }, Durability.Full, syncDirectory);
        return copied;
    }
}
