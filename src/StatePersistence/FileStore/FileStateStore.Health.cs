using StatePersistence.Errors;
using StatePersistence.FileStore.Health;
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
        var details = new Dictionary<string, long>(StringComparer.Ordinal);
        long bytes = 0;
        if (exists)
        {
            string probe = _layout.NextTempPath(Path.Combine(_layout.Root, ".health-probe"));
            try
            {
                using (IFileHandle handle = _fileSystem.Open(probe, FileOpenMode.CreateOrTruncate))
                {
                    handle.Write(0, "ok"u8);
                }

                _fileSystem.Delete(probe);
                writable = true;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // On a full disk the create succeeds and the write fails: without this, every probe that is not
                // answered from the cache would leave one more empty file while the disk stays full.
                Exception reported = FailedWriteCleanup.RemoveTemp(_fileSystem, probe, ex) ?? ex;
                problem = $"The state directory '{_layout.Root}' is not writable: {reported.Message}";
            }

            DiskUsage folders = _diskUsage.Current();
            problem ??= folders.Problem;
            try
            {
                free = _fileSystem.GetAvailableFreeSpace(_layout.Root);
                bytes = InspectFiles(details, folders);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                problem ??= $"The state directory '{_layout.Root}' could not be inspected: {ex.Message}";
            }
        }
        else
        {
            problem = StateDirectoryAbsence.Describe(_layout.Root);
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
            Details = details,
            Problem = problem,
            Unreadable = _unreadable.Reasons(),
        };
    }

    /// <summary>The measures of the disk use (for tests).</summary>
    internal DiskUsageSurvey DiskUsage => _diskUsage;

    /// <summary>
    /// Measures the folders of many files (task and session files, session logs, reports, task archives), for
    /// <see cref="DiskUsageSurvey"/>, which reports a failure: their <c>files_&lt;kind&gt;</c> and <c>bytes_&lt;kind&gt;</c>,
    /// and the bytes of the logs, reports and archives. <paramref name="stopping"/> (the store closing) is checked after
    /// every file system call.
    /// </summary>
    private (IReadOnlyDictionary<string, long> Figures, long Bytes) MeasureFolders(CancellationToken stopping)
    {
        string archive = Path.Combine(_layout.Root, ArchiveDirectoryName);
        var figures = new Dictionary<string, long>(StringComparer.Ordinal)
        {
            ["files_tasks"] = CountItems(_layout.TasksDirectory, stopping),
            ["files_sessions"] = CountItems(_layout.SessionsDirectory, stopping),
            ["files_logs"] = Listed(_layout.LogsDirectory, stopping).Count,
            ["files_reports"] = Listed(_layout.ReportsDirectory, stopping).Count,
            ["files_archive"] = Listed(archive, stopping).Count,
            ["bytes_tasks"] = DirectoryBytes(_layout.TasksDirectory, stopping),
            ["bytes_sessions"] = DirectoryBytes(_layout.SessionsDirectory, stopping),
            ["bytes_logs"] = DirectoryBytes(_layout.LogsDirectory, stopping),
            ["bytes_reports"] = DirectoryBytes(_layout.ReportsDirectory, stopping),
            ["bytes_archive"] = DirectoryBytes(archive, stopping),
        };
        return (figures, figures["bytes_logs"] + figures["bytes_reports"] + figures["bytes_archive"]);
    }

    /// <summary>
    /// Fills the store's figures, named by what they count: <c>files_&lt;kind&gt;</c> (item files, session logs and
    /// their rotated parts, reports, backups, journal segments, task archives) and <c>bytes_&lt;kind&gt;</c> (everything
    /// in the kind's place on disk, the snapshot, temp and quarantined files included), kinds in the dashboard's order,
    /// then the counters kept in memory. The snapshot, the backups and the journal (a few files) are read now; the
    /// folders of many files come from the last measure of <paramref name="folders"/> (see <see cref="DiskUsageSurvey"/>),
    /// so a checkpoint's new backup is counted at once. Returns the bytes of the snapshot, its backups, the journal, the
    /// session logs (rotated parts included), the reports and <c>archive/</c>: what <see cref="StoreHealth.BytesOnDisk"/>
    /// reports (the items in memory stand for their files). Logs and reports, then the archive, were once left out, so a
    /// directory filled by them looked small to the disk-usage gauge.
    /// </summary>
    private long InspectFiles(Dictionary<string, long> details, DiskUsage folders)
    {
        List<string> backups = _backups.ListNewestFirst();
        long snapshot = _fileSystem.FileExists(_layout.StateFile) ? LengthOrZero(_layout.StateFile) : 0;
        long backupBytes = backups.Sum(name => LengthOrZero(Path.Combine(_layout.Root, name)));
        IReadOnlyList<string> segments = [.. _fileSystem.ListFiles(_layout.JournalDirectory).Where(n => JournalReader.TryParseSegmentNumber(n, out _))];
        long journalBytes = segments.Sum(name => LengthOrZero(Path.Combine(_layout.JournalDirectory, name)));

        // Left out while no measure has succeeded (its problem says so): a 0 read as an empty folder.
        void Folder(string name)
        {
            if (folders.Figures.TryGetValue(name, out long value))
            {
                details[name] = value;
            }
        }

        Folder("files_tasks");
        Folder("files_sessions");
        Folder("files_logs");
        Folder("files_reports");
        details["files_backups"] = backups.Count;
        details["files_journal"] = segments.Count;
        details["bytes_snapshot"] = snapshot;
        details["bytes_backups"] = backupBytes;
        Folder("bytes_tasks");
        Folder("bytes_sessions");
        Folder("bytes_logs");
        Folder("bytes_reports");
        details["bytes_journal"] = DirectoryBytes(_layout.JournalDirectory, CancellationToken.None);
        Folder("files_archive");
        Folder("bytes_archive");
        if (ReencryptionFigure is { } remaining)
        {
            details["reencryption_files_remaining"] = remaining;
        }

        details["checkpoint_descriptor_shortages"] = Interlocked.Read(ref _descriptorShortages);
        details["unreadable_files"] = _unreadable.Count;
        return snapshot + backupBytes + journalBytes + folders.Bytes;
    }

    /// <summary><c>archive/</c>, where <c>statectl archive</c> keeps the tasks it moved out of the state.</summary>
    private const string ArchiveDirectoryName = "archive";

    private IReadOnlyList<string> Listed(string directory, CancellationToken stopping)
    {
        IReadOnlyList<string> names = _fileSystem.ListFiles(directory);
        stopping.ThrowIfCancellationRequested();
        return names;
    }

    private long CountItems(string directory, CancellationToken stopping)
    {
        long count = 0;
        foreach (string name in Listed(directory, stopping))
        {
            if (StateLayout.ItemId(name) is not null)
            {
                count++;
            }
        }

        return count;
    }

    private long DirectoryBytes(string directory, CancellationToken stopping) =>
        Listed(directory, stopping).Sum(name =>
        {
            long length = LengthOrZero(Path.Combine(directory, name));
            stopping.ThrowIfCancellationRequested();
            return length;
        });

    // A checkpoint or a backup rotation may remove a file between the listing and its length: it no longer uses space.
    private long LengthOrZero(string path)
    {
        try
        {
            return _fileSystem.LengthOf(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return 0;
        }
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

    private static async ValueTask<T> WrapIo<T>(ValueTask<T> operation, string path, string what)
    {
        try
        {
            return await operation.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StateStorageException($"{what} '{path}' failed: {ex.Message}", path, ex, ex is IOException);
        }
    }
}
