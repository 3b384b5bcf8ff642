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

            try
            {
                free = _fileSystem.GetAvailableFreeSpace(_layout.Root);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                problem ??= $"The state directory '{_layout.Root}' could not be inspected: {ex.Message}";
            }

            DiskUsage usage = _diskUsage.Current();
            problem ??= usage.Problem;
            bytes = usage.Bytes;
            foreach ((string name, long value) in usage.Figures)
            {
                details[name] = value;
            }

            AddCounters(details);
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
            Details = details,
            Problem = problem,
            Unreadable = _unreadable.Reasons(),
        };
    }

    /// <summary>The measures of the disk use (for tests).</summary>
    internal DiskUsageSurvey DiskUsage => _diskUsage;

    /// <summary>The figures kept in memory, current at every check.</summary>
    private void AddCounters(Dictionary<string, long> details)
    {
        details["reencryption_files_remaining"] = Interlocked.Read(ref _reencryptionRemaining);
        details["checkpoint_descriptor_shortages"] = Interlocked.Read(ref _descriptorShortages);
        details["unreadable_files"] = _unreadable.Count;
    }

    /// <summary>Measures the disk use by kind (<see cref="InspectFiles"/>), for <see cref="DiskUsageSurvey"/>.</summary>
    private DiskUsage MeasureDiskUsage()
    {
        DateTimeOffset started = _time.GetUtcNow();
        var figures = new Dictionary<string, long>(StringComparer.Ordinal);
        try
        {
            long bytes = InspectFiles(figures);
            return new DiskUsage(figures, bytes, null, started);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new DiskUsage(figures, 0, $"The state directory '{_layout.Root}' could not be inspected: {ex.Message}", started);
        }
    }

    /// <summary>
    /// Fills the store's figures, named by what they count: <c>files_&lt;kind&gt;</c> (item files, session logs and
    /// their rotated parts, reports, backups, journal segments, task archives) and <c>bytes_&lt;kind&gt;</c> (everything
    /// in the kind's place on disk, the snapshot, temp and quarantined files included), kinds in the dashboard's order.
    /// Returns the bytes of the snapshot, its backups, the journal, the session logs (rotated parts included), the
    /// reports and <c>archive/</c>: what <see cref="StoreHealth.BytesOnDisk"/> reports (the items in memory stand for
    /// their files). Logs and reports, then the archive, were once left out, so a directory filled by them looked small
    /// to the disk-usage gauge.
    /// </summary>
    private long InspectFiles(Dictionary<string, long> details)
    {
        List<string> backups = _backups.ListNewestFirst();
        long snapshot = _fileSystem.FileExists(_layout.StateFile) ? LengthOrZero(_layout.StateFile) : 0;
        long backupBytes = backups.Sum(name => LengthOrZero(Path.Combine(_layout.Root, name)));
        IReadOnlyList<string> segments = [.. _fileSystem.ListFiles(_layout.JournalDirectory).Where(n => JournalReader.TryParseSegmentNumber(n, out _))];
        long journalBytes = segments.Sum(name => LengthOrZero(Path.Combine(_layout.JournalDirectory, name)));

        details["files_tasks"] = CountItems(_layout.TasksDirectory);
        details["files_sessions"] = CountItems(_layout.SessionsDirectory);
        details["files_logs"] = _fileSystem.ListFiles(_layout.LogsDirectory).Count;
        details["files_reports"] = _fileSystem.ListFiles(_layout.ReportsDirectory).Count;
        details["files_backups"] = backups.Count;
        details["files_journal"] = segments.Count;
        details["bytes_snapshot"] = snapshot;
        details["bytes_backups"] = backupBytes;
        details["bytes_tasks"] = DirectoryBytes(_layout.TasksDirectory);
        details["bytes_sessions"] = DirectoryBytes(_layout.SessionsDirectory);
        details["bytes_logs"] = DirectoryBytes(_layout.LogsDirectory);
        details["bytes_reports"] = DirectoryBytes(_layout.ReportsDirectory);
        details["bytes_journal"] = DirectoryBytes(_layout.JournalDirectory);
        string archive = Path.Combine(_layout.Root, ArchiveDirectoryName);
        details["files_archive"] = _fileSystem.ListFiles(archive).Count;
        details["bytes_archive"] = DirectoryBytes(archive);
        return snapshot + backupBytes + journalBytes + details["bytes_logs"] + details["bytes_reports"] + details["bytes_archive"];
    }

    /// <summary><c>archive/</c>, where <c>statectl archive</c> keeps the tasks it moved out of the state.</summary>
    private const string ArchiveDirectoryName = "archive";

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

    private long DirectoryBytes(string directory) =>
        _fileSystem.ListFiles(directory).Sum(name => LengthOrZero(Path.Combine(directory, name)));

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
}
