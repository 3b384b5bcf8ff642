using StatePersistence.Errors;
using StatePersistence.FileStore.Journal;
using StatePersistence.FileSystem;
using StatePersistence.Storage;

namespace StatePersistence.FileStore;

public sealed partial class FileStateStore
{
    /// <inheritdoc />
    public StoreHealth CheckHealth()
    {
        bool exists = _fileSystem.DirectoryExists(_layout.Root);
        string? problem = null;
        bool writable = false;
        long? free = null;
        var counts = new Dictionary<string, long>();
        long bytes = 0;
        if (exists)
        {
            try
            {
                string probe = _layout.NextTempPath(Path.Combine(_layout.Root, ".health-probe"));
                using (IFileHandle handle = _fileSystem.Open(probe, FileOpenMode.CreateOrTruncate))
                {
                    handle.Write(0, "ok"u8);
                }

                _fileSystem.Delete(probe);
                writable = true;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                problem = $"The state directory '{_layout.Root}' is not writable: {ex.Message}";
            }

            try
            {
                free = _fileSystem.GetAvailableFreeSpace(_layout.Root);
                counts["tasks"] = CountItems(_layout.TasksDirectory);
                counts["sessions"] = CountItems(_layout.SessionsDirectory);
                counts["logs"] = _fileSystem.ListFiles(_layout.LogsDirectory).Count;
                counts["reports"] = _fileSystem.ListFiles(_layout.ReportsDirectory).Count;
                counts["backups"] = _backups.ListNewestFirst().Count;
                long journalFiles = 0;
                foreach (string name in _fileSystem.ListFiles(_layout.JournalDirectory))
                {
                    if (JournalReader.TryParseSegmentNumber(name, out _))
                    {
                        journalFiles++;
                        bytes += LengthOf(Path.Combine(_layout.JournalDirectory, name));
                    }
                }

                counts["journal"] = journalFiles;
                foreach (string name in _backups.ListNewestFirst())
                {
                    bytes += LengthOf(Path.Combine(_layout.Root, name));
                }

                bytes += _fileSystem.FileExists(_layout.StateFile) ? LengthOf(_layout.StateFile) : 0;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                problem ??= $"The state directory '{_layout.Root}' could not be inspected: {ex.Message}";
            }
        }
        else
        {
            problem = $"The state directory '{_layout.Root}' does not exist.";
        }

        try
        {
            // The journal segment is checked by the appends themselves: its handle is theirs to swap and close.
            if (_guard.Check() is { } moved)
            {
                // Writes are refused from now on, whatever a probe file in the new directory says.
                problem = moved;
                writable = false;
            }
        }
        catch (StatePersistenceException ex)
        {
            problem ??= ex.Message;
        }

        return new StoreHealth
        {
            Location = _layout.Root,
            Exists = exists,
            Writable = writable,
            FreeBytes = free,
            BytesOnDisk = bytes,
            Details = counts,
            Problem = problem,
        };
    }

    private long CountItems(string directory)
    {
        long count = 0;
        foreach (string name in _fileSystem.ListFiles(directory))
        {
            if (StateLayout.ItemId(name) is not null)
            {
                count++;
            }
        }

        return count;
    }

    private long LengthOf(string path)
    {
        using IFileHandle handle = _fileSystem.Open(path, FileOpenMode.Read);
        return handle.Length;
    }

    private static T Io<T>(Func<T> action, string path, string what)
    {
        try
        {
            return action();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StateStorageException($"{what} '{path}' failed: {ex.Message}", path, ex, ex is IOException);
        }
    }

    private static async ValueTask WrapIo(ValueTask operation, string path, string what)
    {
        try
        {
            await operation.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StateStorageException($"{what} '{path}' failed: {ex.Message}", path, ex, ex is IOException);
        }
    }
}
