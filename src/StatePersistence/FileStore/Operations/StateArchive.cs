using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;
using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.FileStore.Snapshot;
using StatePersistence.FileSystem;
using StatePersistence.Recovery;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;
using StatePersistence.Storage;

namespace StatePersistence.FileStore.Operations;

/// <summary>
/// A consistent copy of a whole state directory as a <c>.tar.gz</c>, and its restore. <see cref="Export(string, string, IPayloadCodec?, TimeProvider?)"/> reads the
/// state with <see cref="StateDirectoryReader"/> (so it may run beside a server) and writes it as the directory a
/// checkpoint would leave: <c>state.json</c> at the view's revision, <c>tasks/</c> and <c>sessions/</c> from the same
/// view, every session log up to its last complete frame, and every report. The journal is not needed (the snapshot
/// holds all of it) and backups are history, not state: neither is copied. The archive is written to a temp file
/// beside the target, fsynced, renamed into place, and the directory fsynced.
/// <see cref="Import(string, string, IPayloadCodec?)"/> restores an archive into an empty (or missing) directory only, under the directory's writer
/// lock, each file written atomically; an entry whose path would leave the directory, or that is not part of a state
/// directory, refuses the whole archive before anything is written.
/// </summary>
public static class StateArchive
{
    private static readonly string[] Directories = ["tasks", "sessions", "logs", "reports"];

    /// <summary>
    /// Exports <paramref name="stateDirectory"/> to <paramref name="archivePath"/> (replaced if it exists). An archive
    /// path inside the state directory is refused (<see cref="StatePersistenceException"/> naming both), nothing written.
    /// </summary>
    public static StateArchiveResult Export(string stateDirectory, string archivePath, IPayloadCodec? codec = null, TimeProvider? time = null) =>
        Export(stateDirectory, archivePath, codec, time, PhysicalFileSystem.Instance);

    /// <summary>
    /// <see cref="Export(string, string, IPayloadCodec?, TimeProvider?)"/>, stopped by <paramref name="cancellationToken"/>
    /// between any two writes of the archive: the temp file is then removed and <see cref="OperationCanceledException"/>
    /// thrown, nothing written at <paramref name="archivePath"/> (an archive already there is left as it was).
    /// </summary>
    public static StateArchiveResult Export(string stateDirectory, string archivePath, IPayloadCodec? codec, TimeProvider? time, CancellationToken cancellationToken) =>
        Export(stateDirectory, archivePath, codec, time, PhysicalFileSystem.Instance, cancellationToken);

    /// <summary><see cref="Export(string, string, IPayloadCodec?, TimeProvider?)"/> reading the logs and writing the archive through <paramref name="fileSystem"/>.</summary>
    internal static StateArchiveResult Export(string stateDirectory, string archivePath, IPayloadCodec? codec, TimeProvider? time, IFileSystem fileSystem,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(stateDirectory);
        ArgumentException.ThrowIfNullOrEmpty(archivePath);
        RefuseInside(Path.GetFullPath(archivePath), Path.GetFullPath(stateDirectory));
        StateDirectoryView read = StateDirectoryReader.Read(stateDirectory, codec, checkItemFiles: false);
        var layout = new StateLayout(read.StateDirectory);
        PayloadEnvelope envelope = PayloadEnvelope.For(codec);
        string target = Path.GetFullPath(archivePath);
        string directory = Path.GetDirectoryName(target)!;
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"The directory of the archive '{target}' does not exist.");
        }

        if (Directory.Exists(target))
        {
            // Said before the copy is made: its rename over a directory failed with the OS's bare "Is a directory".
            throw new IOException($"The archive '{target}' is a directory: give the path of the .tar.gz file to write. Nothing was written.");
        }

        string temp = ExportTempPath(target);
        int logs = 0;
        int reports = 0;
        var damagedLogs = new List<StateDirectoryProblem>();
        var damagedReports = new List<StateDirectoryProblem>();
        try
        {
            long bytes = AtomicFile.WriteTemp(fileSystem, temp, stream =>
            {
                // Every write checks for a cancellation (Ctrl-C): compressing gigabytes of logs takes minutes, and an
                // export left behind mid-write by the ending process would leave its temp file beside the archive.
                using var gzip = new GZipStream(new CancellableWriteStream(stream, cancellationToken), CompressionLevel.Optimal, leaveOpen: true);
                using var tar = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: true);
                Add(tar, "state.json", Snapshot(read.View, envelope, (time ?? TimeProvider.System).GetUtcNow()));
                foreach (StoredItem task in read.View.Tasks.Values)
                {
                    Add(tar, "tasks/" + task.Id + ".json", envelope.Seal(PayloadKind.Task, task.Id, task.Json));
                }

                foreach (StoredItem session in read.View.Sessions.Values)
                {
                    Add(tar, "sessions/" + session.Id + ".json", envelope.Seal(PayloadKind.Session, session.Id, session.Json));
                }

                logs = SessionLogExport.CopyAll(fileSystem, layout, envelope, (name, content) => Add(tar, "logs/" + name, content), damagedLogs);

                reports = AddFiles(tar, layout.ReportsDirectory, "reports/",
                    (name, content) => ReportExport.Checked(name, content, Path.Combine(layout.ReportsDirectory, name), envelope, damagedReports));
            }, Durability.Full);
            cancellationToken.ThrowIfCancellationRequested();
            fileSystem.Rename(temp, target);
            fileSystem.SyncDirectory(directory);
            return new StateArchiveResult(target, read.StateDirectory, read.View.Revision, read.View.Tasks.Count, read.View.Sessions.Count, logs, reports, bytes,
                [.. read.Problems, .. damagedLogs, .. DirectoriesWhereFilesBelong(layout.ReportsDirectory), .. damagedReports]);
        }
        catch (Exception ex)
        {
            if (FailedWriteCleanup.RemoveTemp(fileSystem, temp, ex) is { } alsoNotRemoved)
            {
                throw alsoNotRemoved;
            }

            throw;
        }
    }

    /// <summary>Exports started by this process, for <see cref="ExportTempPath"/>.</summary>
    private static long s_exports;

    /// <summary>
    /// The temp file an export writes beside <paramref name="target"/>, <c>FILE.&lt;process id&gt;-&lt;n&gt;.tmp</c>: one
    /// no other export uses, of this process or another. No lock guards the directory of an export as one guards a state
    /// directory, and two exports to one file may run at once (a backup job overlapping the next, or an operator's run);
    /// with one temp name for all (<c>FILE.1.tmp</c> before 2026-12-07) the second truncated the first one's file and
    /// renamed it into place, the first went on writing into it, and the archive did not read.
    /// </summary>
    private static string ExportTempPath(string target) =>
        string.Create(CultureInfo.InvariantCulture, $"{target}.{Environment.ProcessId}-{Interlocked.Increment(ref s_exports)}{StateLayout.TempSuffix}");

    /// <summary>
    /// An archive inside the directory it copies is a file the state does not have: <c>verify</c> reports it, and the
    /// retention and the next import see a stranger. Refused before anything is read or written.
    /// </summary>
    private static void RefuseInside(string archive, string stateDirectory)
    {
        if (PathContainment.IsInside(archive, stateDirectory))
        {
            throw new StatePersistenceException(
                $"The archive '{archive}' is inside the state directory '{stateDirectory}': an export is written outside the directory it copies. Nothing was written.", archive);
        }
    }

    /// <summary>
    /// Restores <paramref name="archivePath"/> into <paramref name="stateDirectory"/>, which must be empty or missing
    /// (a non-empty one is refused, naming it), or hold an unfinished import of the same archive, which this one
    /// resumes. Throws <see cref="InvalidDataException"/> naming the entry for an archive that is not a state export
    /// (path traversal, an absolute path, a link, an unknown file) or whose entry is damaged (<see cref="ArchiveEntryCheck"/>),
    /// and naming the archive for one that is not a
    /// readable .tar.gz (truncated, not gzip, not tar), before anything is written. <paramref name="codec"/> is the one the export was
    /// written with (its files are restored as they are, so an encrypted export needs its key to be read back). An
    /// archive written into in place after its check throws <see cref="InvalidDataException"/> naming it,
    /// the directory left as an unfinished import, which does not open.
    /// </summary>
    public static StateArchiveResult Import(string archivePath, string stateDirectory, IPayloadCodec? codec = null) =>
        Import(archivePath, stateDirectory, codec, CancellationToken.None);

    /// <summary>
    /// <see cref="Import(string, string, IPayloadCodec?)"/>, stopped by <paramref name="cancellationToken"/> between any
    /// two writes: <see cref="OperationCanceledException"/>, the file being written removed, and the directory left as an
    /// unfinished import (its marker in place, so nothing opens it) that running the same import again finishes.
    /// </summary>
    public static StateArchiveResult Import(string archivePath, string stateDirectory, IPayloadCodec? codec, CancellationToken cancellationToken)
    {
        string archive = RequireArchive(archivePath);

        // One handle for every pass: reopened by path, the file written was whatever lay there by then (an export to
        // the same path renamed over it meanwhile), unchecked.
        using FileStream file = OpenArchive(archive);
        return Import(archive, file, new StateLayout(Path.GetFullPath(stateDirectory)), codec, cancellationToken);
    }

    /// <summary><see cref="Import(string, string, IPayloadCodec?, CancellationToken)"/> of the archive <paramref name="archive"/> names, read through <paramref name="file"/> (seekable, left open).</summary>
    internal static StateArchiveResult Import(string archive, Stream file, StateLayout layout, IPayloadCodec? codec, CancellationToken cancellationToken)
    {
        // Every entry is checked before anything is written, so a refused archive leaves nothing behind.
        (int tasks, int sessions, int logs, int reports, (long Bytes, string Sha256) checkedBytes) = Check(archive, file, PayloadEnvelope.For(codec));
        ImportFiles(PhysicalFileSystem.Instance, archive, file, checkedBytes, layout, TimeProvider.System, cancellationToken: cancellationToken);
        StateDirectoryView restored = StateDirectoryReader.Read(layout.Root, codec, checkItemFiles: false);
        return new StateArchiveResult(archive, layout.Root, restored.View.Revision, tasks, sessions, logs, reports, checkedBytes.Bytes,
            restored.Problems);
    }

    /// <summary>
    /// Restores the archive, with every check <see cref="Import(string, string, IPayloadCodec?)"/> makes, into a copy
    /// that is opened once and thrown away (<see cref="ImportIntoAsync"/>'s): not fsynced, without the task and session
    /// files (they only repeat <c>state.json</c>, which an open reads, and are checked against it all the same), and
    /// not read back (the open reads it). At 100,000 tasks the fsyncs cost most of a minute, and the item files
    /// 100,000 files written and deleted.
    /// </summary>
    internal static void RestoreCopy(string archivePath, string directory, IPayloadCodec? codec, CancellationToken cancellationToken)
    {
        string archive = RequireArchive(archivePath);
        using FileStream file = OpenArchive(archive);
        (long Bytes, string Sha256) checkedBytes = Check(archive, file, PayloadEnvelope.For(codec)).Read;
        ImportFiles(PhysicalFileSystem.Instance, archive, file, checkedBytes, new StateLayout(Path.GetFullPath(directory)), TimeProvider.System, Durability.Relaxed,
            withItemFiles: false, cancellationToken);
    }

    private static string RequireArchive(string archivePath)
    {
        string archive = Path.GetFullPath(archivePath);
        return File.Exists(archive) ? archive
            : Directory.Exists(archive) ? throw new FileNotFoundException($"The archive '{archive}' is a directory: give the path of the .tar.gz file 'statectl export' wrote.", archive)
            : throw new FileNotFoundException($"The archive '{archive}' does not exist.", archive);
    }

    /// <summary>The archive, opened once for the check (which digests it as it reads, for the marker) and the copy alike (each seeks to its start).</summary>
    private static FileStream OpenArchive(string archive) => File.OpenRead(archive);

    /// <summary>
    /// Puts the archive at <paramref name="archivePath"/> into <paramref name="store"/>, a store of the contract that
    /// keeps session logs and reports (<see cref="IStateBlobStore"/>) and is not open yet: this opens it, and the caller
    /// disposes it. The archive gets every check <see cref="Import(string, string, IPayloadCodec?)"/> makes, in a directory of its own under the
    /// system's temp directory (room for the state is needed there; the directory is removed afterwards). The store
    /// must hold nothing the archive does not hold as it holds it; anything else is refused
    /// (<see cref="StatePersistenceException"/> naming the first ten) before anything is written. Reports and session
    /// logs (rotated parts included, each as one log) are written first, then the tasks, sessions and the application's
    /// properties in commits of 1,000 items, each created only where absent, with the store's own revisions. A run cut
    /// short is finished by running it again: what it wrote is found equal and not written twice.
    /// <paramref name="codec"/> opens a sealed archive; the store seals with its own.
    /// </summary>
    public static Task<StoreImportResult> ImportIntoAsync(string archivePath, IStateStore store, IPayloadCodec? codec = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(archivePath);
        ArgumentNullException.ThrowIfNull(store);
        return new StoreTransfer.ArchiveIntoStore(store, codec).RunAsync(archivePath, cancellationToken);
    }

    /// <summary>
    /// Writes <paramref name="store"/>, a store of the contract that keeps session logs and reports
    /// (<see cref="IStateBlobStore"/>) and is not open yet (this opens it; the caller disposes it), to
    /// <paramref name="archivePath"/> as an export of a directory: what <see cref="Import(string, string, IPayloadCodec?)"/>
    /// restores into a directory and <see cref="ImportIntoAsync"/> into a store. The items are the store's at the
    /// revision its open read (<see cref="StoreExportResult.StoreRevision"/>), numbered anew in the archive; each
    /// session log (all of it, as one log) and report as it is when read. It passes through a file store of its own
    /// under the system's temp directory (room for the state is needed there; removed afterwards). With a
    /// <paramref name="codec"/>, the one the store reads with, the archive's files are sealed with it.
    /// </summary>
    public static Task<StoreExportResult> ExportFromAsync(IStateStore store, string archivePath, IPayloadCodec? codec = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(archivePath);
        return new StoreTransfer.StoreIntoArchive(store, codec).RunAsync(archivePath, cancellationToken);
    }

    /// <summary>
    /// Writes a checked archive's files into the directory under its writer lock. A crash anywhere must not leave a
    /// directory that opens as a state holding only part of the archive (the logs and reports come after
    /// <c>state.json</c>), so <c>import-in-progress.json</c> is made durable before the first file and removed only
    /// after the last file and every directory are: while it is there the open refuses the directory, and running the
    /// same import again resumes (it rewrites every file, each atomically, so what the crash left is overwritten).
    /// <paramref name="archiveFile"/> is the handle the check read (<paramref name="archive"/> only names it), and
    /// <paramref name="checkedBytes"/> the size and SHA-256 of the bytes that read met, which the marker names: the
    /// bytes written are the ones checked, whatever is renamed over the path meanwhile; bytes written into that file
    /// meanwhile are found by hashing what the writing pass read (<see cref="RefuseIfRewrittenSinceChecked"/>).
    /// </summary>
    internal static void ImportFiles(IFileSystem fileSystem, string archive, Stream archiveFile, (long Bytes, string Sha256) checkedBytes, StateLayout layout,
        TimeProvider time, Durability durability = Durability.Full, bool withItemFiles = true, CancellationToken cancellationToken = default)
    {
        ImportMarker marker = ImportMarker.For(archive, checkedBytes, time.GetUtcNow());
        RefuseUnlessEmptyOrResumable(fileSystem, layout, marker);
        StateDirectories.Ensure(fileSystem, layout, new RecoveryReport());
        using (DirectoryLock.Acquire(fileSystem, layout, time))
        {
            // Checked again under the lock: a server may have opened the directory since the first look.
            RefuseUnlessEmptyOrResumable(fileSystem, layout, marker);
            marker.Write(fileSystem, layout);
            archiveFile.Position = 0;
            using var read = new DigestingReadStream(archiveFile);
            using var gzip = new GZipStream(read, CompressionMode.Decompress, leaveOpen: true);
            using var tar = new TarReader(gzip);
            while (tar.GetNextEntry() is { } entry)
            {
                cancellationToken.ThrowIfCancellationRequested();
                RefuseIfChangedSinceChecked(archive, entry, layout);
                if (entry.EntryType is TarEntryType.Directory || (!withItemFiles && IsItemFile(entry.Name)))
                {
                    continue;
                }

                // Copied as it is read (a session log may be gigabytes), and only renamed into place whole. A cancellation
                // (Ctrl-C) stops it between two writes, its temp file removed: the marker stays, and the same import resumes.
                AtomicFile.Write(fileSystem, layout, Path.Combine(layout.Root, entry.Name),
                    file => CopyWhole(entry, new CancellableWriteStream(file, cancellationToken)), durability, syncDirectory: false);
            }

            RefuseIfRewrittenSinceChecked(archive, marker, read.ReadToEnd(), layout);
            if (durability == Durability.Full)
            {
                foreach (string directory in layout.Directories)
                {
                    fileSystem.SyncDirectory(directory);
                }

                fileSystem.SyncDirectory(layout.Root);
            }

            ImportMarker.Remove(fileSystem, layout);
        }
    }

    /// <summary>
    /// An entry the check would have refused, met while writing: the file changed in place since it was checked (the
    /// handle keeps a rename from mattering, not a write into the same file). Refused before it is written by the same
    /// rule the check applies; the marker stays, so the directory is refused until an import of a whole archive.
    /// </summary>
    private static void RefuseIfChangedSinceChecked(string archive, TarEntry entry, StateLayout layout)
    {
        if (EntryProblem(entry) is { } problem)
        {
            throw new InvalidDataException($"The archive '{archive}' changed while it was imported: its entry '{entry.Name}' {problem}, and was not written. "
                + $"The state directory '{layout.Root}' holds an unfinished import ('{layout.ImportMarkerFile}'): empty it and import the archive again once it is whole.");
        }
    }

    /// <summary>
    /// The archive's bytes as the writing pass read them, all of them to the file's end, against the marker's (the
    /// bytes the check read, digested as it read them: a file changed before then fails the check or is what was
    /// checked). A file written into in place since (<c>cp</c> over it, a backup job writing into the same file) had
    /// its content written unchecked, which the entry names <see cref="RefuseIfChangedSinceChecked"/> looks at do not
    /// show. Refused before the marker is removed, so the directory is refused until an import of a whole archive.
    /// </summary>
    private static void RefuseIfRewrittenSinceChecked(string archive, ImportMarker marker, (long Bytes, string Sha256) written, StateLayout layout)
    {
        if (!marker.SameArchive(marker with { ArchiveBytes = written.Bytes, ArchiveSha256 = written.Sha256 }))
        {
            throw new InvalidDataException($"The archive '{archive}' changed while it was imported: it was written into since it was checked "
                + $"({marker.ArchiveBytes} bytes, SHA-256 {marker.ArchiveSha256} then; {written.Bytes} bytes, SHA-256 {written.Sha256} as its files were written), "
                + $"so what was written is not what was checked. The state directory '{layout.Root}' holds an unfinished import ('{layout.ImportMarkerFile}') "
                + "that does not open: empty it and import the archive again once nothing writes into it.");
        }
    }

    /// <summary>A task or session file: a copy of what <c>state.json</c> holds (the check compared them), which an open does not read.</summary>
    private static bool IsItemFile(string entryName) =>
        entryName.StartsWith("tasks/", StringComparison.Ordinal) || entryName.StartsWith("sessions/", StringComparison.Ordinal);

    /// <summary>
    /// Refuses a directory holding any file but the lock's own, unless it holds an unfinished import of the same
    /// archive (same size and SHA-256), whose files are all ones this import writes again.
    /// </summary>
    private static void RefuseUnlessEmptyOrResumable(IFileSystem fileSystem, StateLayout layout, ImportMarker importing)
    {
        if (!fileSystem.DirectoryExists(layout.Root))
        {
            return;
        }

        if (fileSystem.FileExists(layout.ImportMarkerFile))
        {
            ImportMarker? unfinished = ImportMarker.Read(fileSystem, layout);
            if (unfinished is not null && unfinished.SameArchive(importing))
            {
                return;
            }

            throw new IOException($"The state directory '{layout.Root}' holds an unfinished import of "
                + $"{(unfinished is null ? "an unreadable marker" : $"another archive ('{unfinished.Archive}', {unfinished.ArchiveBytes} bytes)")} "
                + $"('{layout.ImportMarkerFile}'): import that archive again to finish it, or empty the directory. Nothing was changed.");
        }

        string? found = FilesOf(fileSystem, layout).FirstOrDefault() ?? (fileSystem is PhysicalFileSystem ? ForeignEntry(layout) : null);
        if (found is not null)
        {
            throw new IOException($"The state directory '{layout.Root}' is not empty (it holds '{found}'): import restores into an empty directory only. Nothing was changed.");
        }
    }

    /// <summary>Files in the directory and its subdirectories, but the lock's own (a crashed import leaves those).</summary>
    private static IEnumerable<string> FilesOf(IFileSystem fileSystem, StateLayout layout)
    {
        foreach (string name in fileSystem.ListFiles(layout.Root))
        {
            string path = Path.Combine(layout.Root, name);
            if (path != layout.LockFile && path != layout.LockOwnerFile)
            {
                yield return path;
            }
        }

        foreach (string directory in layout.Directories.Where(fileSystem.DirectoryExists))
        {
            foreach (string name in fileSystem.ListFiles(directory))
            {
                yield return Path.Combine(directory, name);
            }
        }
    }

    /// <summary>A directory entry the state layout does not have (a subdirectory of its own, say), on a real disk.</summary>
    private static string? ForeignEntry(StateLayout layout)
    {
        var known = new HashSet<string>(layout.Directories, StringComparer.Ordinal);
        return Directory.EnumerateDirectories(layout.Root).FirstOrDefault(d => !known.Contains(d));
    }

    /// <summary>
    /// Checks every entry's name and type; returns the counts per kind, and the size and SHA-256 of the bytes read
    /// (the whole file, digested in this one read: the marker names exactly what was checked).
    /// </summary>
    private static (int Tasks, int Sessions, int Logs, int Reports, (long Bytes, string Sha256) Read) Check(string archive, Stream file, PayloadEnvelope envelope)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var names = new HashSet<string>(StringComparer.Ordinal);
        StateView? state = null;
        string refusal = $"The archive '{archive}'";
        string? lastEntry = null;
        (long Bytes, string Sha256) read;
        try
        {
            file.Position = 0;
            using var gzip = new CheckedGzipReader(file);
            using var tar = new TarReader(gzip);
            while (tar.GetNextEntry() is { } entry)
            {
                string? problem = EntryProblem(entry);
                if (problem is not null)
                {
                    throw new InvalidDataException($"The archive '{archive}' is refused: its entry '{entry.Name}' {problem}. Nothing was changed.");
                }

                if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile && !names.Add(entry.Name))
                {
                    throw new InvalidDataException($"The archive '{archive}' is refused: it holds '{entry.Name}' twice. Nothing was changed.");
                }

                if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile)
                {
                    state = RefuseIfDamaged(archive, entry, envelope, state);
                }

                lastEntry = entry.Name;
                string top = entry.Name.Split('/')[0];
                counts[top] = counts.GetValueOrDefault(top) + (entry.EntryType is TarEntryType.Directory ? 0 : 1);
            }

            // Every entry read whole says nothing of the end: an archive cut in its gzip trailer read as whole.
            if (gzip.TrailerProblem() is { } trailerProblem)
            {
                throw new InvalidDataException($"{refusal} is refused: {trailerProblem}. Nothing was changed.");
            }

            read = gzip.Digest;
        }
        // What gzip and tar throw names no file (a truncated archive is an EndOfStreamException, an IOException): named
        // here, with the last entry that read whole. The refusals above already name the archive and pass through.
        catch (Exception ex) when ((ex is InvalidDataException && !ex.Message.StartsWith(refusal, StringComparison.Ordinal)) || ex is EndOfStreamException)
        {
            string where = lastEntry is null ? "before its first entry" : $"after the entry '{lastEntry}'";
            throw new InvalidDataException($"{refusal} is not a readable .tar.gz: it breaks off or is damaged {where} ({ex.Message}). Nothing was changed.", ex);
        }

        if (!names.Contains("state.json"))
        {
            throw new InvalidDataException($"The archive '{archive}' holds no state.json: it is not a state export. Nothing was changed.");
        }

        return (counts.GetValueOrDefault("tasks"), counts.GetValueOrDefault("sessions"), counts.GetValueOrDefault("logs"), counts.GetValueOrDefault("reports"), read);
    }

    /// <summary>
    /// An export is restored as it was written, sealed or not, and read back with the codec given: an entry sealed with
    /// a codec this import lacks (an encrypted export without its key) or under a key the ring does not hold is refused
    /// here, and so is a damaged one (<see cref="ArchiveEntryCheck"/>), before anything is written. Returns the
    /// archive's state once <c>state.json</c> has been read (the entries after it are compared with it).
    /// </summary>
    private static StateView? RefuseIfDamaged(string archive, TarEntry entry, PayloadEnvelope envelope, StateView? state)
    {
        if (IsSessionLog(entry.Name))
        {
            // Read a frame at a time: a log is not held whole.
            return ArchiveLogCheck.Problem(entry.DataStream ?? Stream.Null, entry.Length, entry.Name) is { } logProblem
                ? throw new InvalidDataException($"The archive '{archive}' is refused: its entry '{entry.Name}' is damaged: {logProblem}. Nothing was changed.")
                : state;
        }

        using var content = new MemoryStream();
        entry.DataStream?.CopyTo(content);
        if (content.Length != entry.Length)
        {
            // A truncated archive: its end, not the entry's bytes, is what is wrong (reported as such by the caller).
            throw new EndOfStreamException($"the entry '{entry.Name}' breaks off after {content.Length} of its {entry.Length} bytes");
        }

        string label = $"{archive}: {entry.Name}";
        string? problem;
        if (entry.Name == "state.json")
        {
            try
            {
                return ArchiveEntryCheck.State(content.ToArray(), envelope, label);
            }
            catch (InvalidDataException ex)
            {
                problem = ex.Message;
            }
        }
        else
        {
            problem = ArchiveEntryCheck.Problem(entry.Name, content.ToArray(), envelope, state, label);
        }

        return problem is null ? state
            : throw new InvalidDataException($"The archive '{archive}' is refused: its entry '{entry.Name}' is damaged: {problem}. Nothing was changed.");
    }

    private static bool IsSessionLog(string name) =>
        name.StartsWith("logs/", StringComparison.Ordinal) && StateLayout.TryParseSessionLogName(name["logs/".Length..], out _, out _);

    /// <summary>
    /// Copies <paramref name="entry"/>'s bytes to <paramref name="file"/>; throws <see cref="EndOfStreamException"/>
    /// when it breaks off before its length (the archive changed since it was checked), so that no short file is
    /// renamed into place.
    /// </summary>
    private static void CopyWhole(TarEntry entry, Stream file)
    {
        long copied = 0;
        if (entry.DataStream is { } data)
        {
            byte[] buffer = new byte[1 << 16];
            for (int read; (read = data.Read(buffer)) > 0; copied += read)
            {
                file.Write(buffer, 0, read);
            }
        }

        if (copied != entry.Length)
        {
            throw new EndOfStreamException($"The archive's entry '{entry.Name}' breaks off after {copied} of its {entry.Length} bytes: the archive changed since it was checked. Nothing of that file was written; import the archive again once it is whole.");
        }
    }

    /// <summary>Why an entry cannot be restored, or null: only plain files named as a state directory names them.</summary>
    private static string? EntryProblem(TarEntry entry)
    {
        string name = entry.Name;
        if (name.Length == 0 || name.StartsWith('/') || name.Contains('\\', StringComparison.Ordinal) || Path.IsPathRooted(name))
        {
            return "has an absolute or non-portable path";
        }

        string[] parts = name.TrimEnd('/').Split('/');
        if (parts.Any(p => p is "" or "." or ".."))
        {
            return "has a path that would leave the state directory";
        }

        if (entry.EntryType is TarEntryType.Directory)
        {
            return parts.Length == 1 && Directories.Contains(parts[0]) ? null : "is a directory a state directory does not have";
        }

        if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
        {
            return $"is a {entry.EntryType}, not a plain file";
        }

        return (parts.Length == 1 && parts[0] == "state.json") || (parts.Length == 2 && Directories.Contains(parts[0]) && !StateLayout.IsTempFile(parts[1]))
            ? null
            : "is not a file of a state directory (state.json, tasks/, sessions/, logs/, reports/)";
    }

    private static byte[] Snapshot(StateView view, PayloadEnvelope envelope, DateTimeOffset savedAt)
    {
        using var buffer = new MemoryStream();
        Stream sealedStream = envelope.SealStream(PayloadKind.Snapshot, FileRecovery.SnapshotId, buffer);
        try
        {
            SnapshotWriter.Write(sealedStream, view, savedAt, Tombstones.None);
        }
        finally
        {
            if (!ReferenceEquals(sealedStream, buffer))
            {
                sealedStream.Dispose();
            }
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// A directory where a report file belongs (<c>reports/report_x.json/</c>) holds no report the export can copy: a
    /// problem named in the result (statectl prints it as a warning), not a report left out without a word.
    /// </summary>
    private static IEnumerable<StateDirectoryProblem> DirectoriesWhereFilesBelong(string directory) =>
        Directory.Exists(directory)
            ? Directory.EnumerateDirectories(directory).Order(StringComparer.Ordinal)
                .Select(path => new StateDirectoryProblem(path, null, UnreadableFile.Problem(path, new IOException()) + "; it is not in the export"))
            : [];

    /// <summary>Adds the files of <paramref name="directory"/>, each as <paramref name="content"/> makes it; one it makes null is left out.</summary>
    private static int AddFiles(TarWriter tar, string directory, string prefix, Func<string, byte[], byte[]?> content)
    {
        int count = 0;
        foreach (string name in PhysicalFileSystem.Instance.ListFiles(directory).Order(StringComparer.Ordinal))
        {
            if (StateLayout.IsTempFile(name) || name.Contains(StateLayout.CorruptMarker, StringComparison.Ordinal) || name.EndsWith(SessionLogs.FailedMarkerSuffix, StringComparison.Ordinal))
            {
                continue;
            }

            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(Path.Combine(directory, name));
            }
            catch (FileNotFoundException)
            {
                continue;
            }

            if (content(name, bytes) is not { } entry)
            {
                continue;
            }

            Add(tar, prefix + name, entry);
            count++;
        }

        return count;
    }

    private static void Add(TarWriter tar, string name, byte[] content)
    {
        using var data = new MemoryStream(content, writable: false);
        Add(tar, name, data);
    }

    /// <summary>An entry copied from <paramref name="data"/> as it is written (a seekable stream: its length goes first).</summary>
    private static void Add(TarWriter tar, string name, Stream data) =>
        tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = data, Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite });
}
