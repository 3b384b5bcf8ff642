using StatePersistence.FileSystem;
using StatePersistence.Storage;

namespace StatePersistence.FileStore;

/// <summary>
/// Replaces a file so that a crash at any instant leaves either the old complete file or the new complete one:
/// write a temp file in the same directory (a name unique to this write, so concurrent writers of one file never
/// share it), fsync it, rename it over the target, fsync the directory. Without the
/// first fsync ext4 may persist the rename before the data (the empty or NUL-filled file after a crash); without the
/// second the rename itself may vanish.
/// </summary>
internal static class AtomicFile
{
    /// <summary>
    /// Writes <paramref name="content"/> to <paramref name="path"/> atomically. When any step fails the temp file is
    /// removed and the failure propagates (see <see cref="FailedWriteCleanup"/>); the target is then the old file, or
    /// the new one when only the directory fsync failed. <paramref name="prepareTemp"/>, when given, is called with the
    /// temp file's path once it is written and before it is fsynced (to give it an owner: the fsync then covers that too).
    /// </summary>
    public static void Write(IFileSystem fileSystem, StateLayout layout, string path, ReadOnlySpan<byte> content, Durability durability, bool syncDirectory = true,
        Action<string>? prepareTemp = null)
    {
        string temp = layout.NextTempPath(path);
        try
        {
            using (IFileHandle handle = fileSystem.Open(temp, FileOpenMode.CreateOrTruncate))
            {
                handle.Write(0, content);
                prepareTemp?.Invoke(temp);
                if (durability == Durability.Full)
                {
                    handle.Sync();
                }
            }

            fileSystem.Rename(temp, path);
        }
        catch (Exception ex)
        {
            if (FailedWriteCleanup.RemoveTemp(fileSystem, temp, ex) is { } alsoNotRemoved)
            {
                throw alsoNotRemoved;
            }

            throw;
        }

        if (syncDirectory && durability == Durability.Full)
        {
            fileSystem.SyncDirectory(Path.GetDirectoryName(path)!);
        }
    }

    /// <summary>
    /// <see cref="Write(IFileSystem, StateLayout, string, ReadOnlySpan{byte}, Durability, bool, Action{string})"/> with the content
    /// written through a stream as it is made (a rewrite of a large file a piece at a time): temp file, fsync, rename,
    /// directory fsync. When any step before the rename fails the temp file is removed and the target is untouched.
    /// </summary>
    public static void Write(IFileSystem fileSystem, StateLayout layout, string path, Action<Stream> write, Durability durability, bool syncDirectory = true)
    {
        string temp = layout.NextTempPath(path);
        WriteTemp(fileSystem, temp, write, durability);
        try
        {
            fileSystem.Rename(temp, path);
        }
        catch (Exception ex)
        {
            if (FailedWriteCleanup.RemoveTemp(fileSystem, temp, ex) is { } alsoNotRemoved)
            {
                throw alsoNotRemoved;
            }

            throw;
        }

        if (syncDirectory && durability == Durability.Full)
        {
            fileSystem.SyncDirectory(Path.GetDirectoryName(path)!);
        }
    }

    /// <summary>
    /// Writes a file's temp copy through a stream and fsyncs it; the caller renames it into place. When the write or
    /// the fsync fails, the temp file is removed before the failure propagates (see <see cref="FailedWriteCleanup"/>).
    /// </summary>
    public static long WriteTemp(IFileSystem fileSystem, string tempPath, Action<Stream> write, Durability durability)
    {
        try
        {
            using IFileHandle handle = fileSystem.Open(tempPath, FileOpenMode.CreateOrTruncate);
            using (var buffered = new BufferedStream(new FileHandleStream(handle), 1 << 16))
            {
                write(buffered);
                buffered.Flush();
            }

            if (durability == Durability.Full)
            {
                handle.Sync();
            }

            return handle.Length;
        }
        catch (Exception ex)
        {
            if (FailedWriteCleanup.RemoveTemp(fileSystem, tempPath, ex) is { } alsoNotRemoved)
            {
                throw alsoNotRemoved;
            }

            throw;
        }
    }
}
