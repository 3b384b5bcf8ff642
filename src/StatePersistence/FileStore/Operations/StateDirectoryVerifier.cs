using System.Text.Json;
using StatePersistence.Errors;
using StatePersistence.FileStore.Snapshot;
using StatePersistence.FileSystem;
using StatePersistence.Ids;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.FileStore.Operations;

/// <summary>
/// Reads everything in a state directory and lists what is wrong, changing nothing (safe beside a running server):
/// the state and the journal as <see cref="StateDirectoryReader"/> reads them (parsing, format version, damage), the
/// task and session files against the state (parsing, id against file name, agreement), every backup, every session
/// log's frames, every report (parsing, id), every task archive read whole and the last recovery report.
/// </summary>
public static class StateDirectoryVerifier
{
    /// <summary>
    /// Verifies <paramref name="stateDirectory"/>; a missing directory throws <see cref="DirectoryNotFoundException"/>.
    /// A state sealed with a codec while <paramref name="codec"/> is null (an encrypted directory verified without its
    /// key) throws <see cref="StateFormatException"/> (<see cref="StateFormatException.ReaderLacksCodec"/>): without
    /// the key nothing can be judged, and listing every file as a problem would report damage that is not there. So does
    /// a state or journal sealed under a key the ring does not hold, has revoked or holds other material for
    /// (<see cref="StateFormatException.KeyId"/>). Any other file that cannot be read (the file system refuses it, it is a
    /// directory, it is sealed under a key the ring lacks) is listed with why, and the rest of the directory is checked.
    /// </summary>
    public static StateDirectoryVerification Verify(string stateDirectory, IPayloadCodec? codec = null) =>
        Verify(stateDirectory, codec, PhysicalFileSystem.Instance);

    /// <summary><see cref="Verify(string, IPayloadCodec?)"/> reading through <paramref name="fileSystem"/> (tests inject read failures).</summary>
    internal static StateDirectoryVerification Verify(string stateDirectory, IPayloadCodec? codec, IFileSystem fileSystem)
    {
        ArgumentException.ThrowIfNullOrEmpty(stateDirectory);
        var layout = new StateLayout(Path.GetFullPath(stateDirectory));
        if (!Directory.Exists(layout.Root))
        {
            throw new DirectoryNotFoundException(StateDirectoryAbsence.Describe(layout.Root));
        }

        PayloadEnvelope envelope = PayloadEnvelope.For(codec);
        var problems = new List<StateDirectoryProblem>();
        var checkedFiles = new Dictionary<string, int>(StringComparer.Ordinal);
        long? revision = null;
        IReadOnlyList<StateDirectoryProblem> notYetImported = [];
        string? importing = fileSystem.FileExists(layout.ImportMarkerFile)
            ? ImportMarker.Read(fileSystem, layout) is { } marker ? $"'{marker.Archive}'" : "an archive"
            : null;
        if (importing is not null)
        {
            // The library refuses to open such a directory; verify says why, and goes on to check what is there.
            problems.Add(UnfinishedImport(layout, importing, notWritten: 0));
        }

        if (UnfinishedMigration.Find(fileSystem, layout) is { } migration)
        {
            problems.Add(migration);
        }

        try
        {
            StateDirectoryView view = StateDirectoryReader.ReadEvenIfImportUnfinished(layout.Root, codec, checkItemFiles: true, fileSystem);
            revision = view.View.Revision;
            problems.AddRange(view.Problems);
            if (importing is not null && view.MissingItemFiles.Count > 0)
            {
                // Each file the import has not written yet stays a problem of its own (--json lists them all); the
                // import's problem counts them, for the table, which does not.
                notYetImported = view.MissingItemFiles;
                problems[0] = UnfinishedImport(layout, importing, notYetImported.Count);
            }
        }
        catch (Exception ex) when (ex is StateFormatException { ReaderLacksCodec: false, KeyId: null } or StateStorageException || UnreadableFile.IsRefusal(ex))
        {
            // The state cannot be read as a whole: the read stopped at one file (a newer format stops it, as it stops
            // start-up; so does one the file system refuses to read), and whatever it had found before is gone with it.
            // Every other file is checked on its own, so each problem is still listed (a corrupt state.json beside a
            // backup of a newer format, an unreadable journal segment beside a damaged task file).
            string stoppedAt = (ex as StatePersistenceException)?.Path ?? layout.Root;
            problems.Add(new StateDirectoryProblem(stoppedAt, null, ex is StatePersistenceException ? ex.Message
                : $"the state cannot be read as a whole ({ex.Message}); each file is checked on its own below"));
            FileByFileChecks.StateFile(fileSystem, layout, envelope, stoppedAt, problems);
            FileByFileChecks.JournalSegments(fileSystem, layout, stoppedAt, problems);
            FileByFileChecks.ItemFiles(fileSystem, envelope, PayloadKind.Task, layout.TasksDirectory, problems);
            FileByFileChecks.ItemFiles(fileSystem, envelope, PayloadKind.Session, layout.SessionsDirectory, problems);
        }

        DirectoriesWhereFilesBelong(layout, problems);
        checkedFiles["state"] = fileSystem.FileExists(layout.StateFile) ? 1 : 0;
        checkedFiles["journal"] = fileSystem.ListFiles(layout.JournalDirectory).Count(n => Journal.JournalReader.TryParseSegmentNumber(n, out _));
        checkedFiles["tasks"] = fileSystem.ListFiles(layout.TasksDirectory).Count(n => StateLayout.ItemId(n) is not null);
        checkedFiles["sessions"] = fileSystem.ListFiles(layout.SessionsDirectory).Count(n => StateLayout.ItemId(n) is not null);
        checkedFiles["backups"] = CheckBackups(fileSystem, layout, envelope, problems);
        checkedFiles["logs"] = SessionLogChecks.CheckAll(fileSystem, layout, envelope, problems);
        checkedFiles["reports"] = CheckReports(fileSystem, layout, envelope, problems);
        checkedFiles["archives"] = CheckTaskArchives(fileSystem, layout, problems);
        CheckRecoveryReport(fileSystem, layout, problems);
        // A temp file is never one moved aside, whatever else its name holds (the temp of a copy being kept aside has its ".corrupt.").
        List<string> quarantined = [.. Directory.EnumerateFiles(layout.Root, "*", SearchOption.AllDirectories)
            .Where(p => Path.GetFileName(p) is var name && name.Contains(StateLayout.CorruptMarker, StringComparison.Ordinal) && !StateLayout.IsTempFile(name))
            .Order(StringComparer.Ordinal)];
        // A file the read stopped at is checked again on its own (every backup is): listed once.
        return new StateDirectoryVerification(layout.Root, revision, checkedFiles, [.. problems.Distinct()], quarantined) { NotYetImported = notYetImported };
    }

    /// <summary>
    /// Reads every task archive of <c>archive/</c> whole, as a restore checks it (<see cref="TaskArchive.TaskArchiveWholeRead"/>:
    /// the manifest and the ids and entries it names, each entry against its length and SHA-256, each task entry's task
    /// unless sealed, the gzip trailer; sealed entries as bytes), and lists
    /// each one that does not read whole. An archived task lives nowhere else: before 2026-12-07 verify did not read
    /// <c>archive/</c>, and an archive cut short said "OK: no problems" until its restore refused it
    /// (<c>VerifyOfTaskArchivesTests</c>). Returns how many archives it read.
    /// </summary>
    private static int CheckTaskArchives(IFileSystem fileSystem, StateLayout layout, List<StateDirectoryProblem> problems)
    {
        string directory = Path.Combine(layout.Root, TaskArchives.DirectoryName);
        List<Retention.TaskArchiveInfo> archives = TaskArchive.ArchiveDirectory.Describe(fileSystem, directory, readWhole: true);
        foreach (Retention.TaskArchiveInfo archive in archives.Where(a => a.Problem is not null))
        {
            problems.Add(new StateDirectoryProblem(Path.Combine(directory, archive.Name), null, archive.Tasks is null
                ? $"the task archive's manifest does not read ({archive.Problem}): which tasks it holds is not known, and a restore refuses it"
                : archive.Problem!));
        }

        return archives.Count;
    }

    private static StateDirectoryProblem UnfinishedImport(StateLayout layout, string archive, int notWritten) =>
        new(layout.ImportMarkerFile, null, $"an import of {archive} did not finish: the directory holds only part of it"
            + (notWritten == 0 ? "" : $" ({notWritten} task and session file(s) its state.json names are not written yet, and the session logs and reports after them may be missing too)")
            + " and the store refuses to open it; run the same import again (it resumes), or empty the directory");

    private static int CheckBackups(IFileSystem fileSystem, StateLayout layout, PayloadEnvelope envelope, List<StateDirectoryProblem> problems)
    {
        List<string> backups = new Backups(fileSystem, layout).ListNewestFirst();
        // With state.json unusable the read of the state falls back to the backups, newest first, as recovery does,
        // and lists a damaged one with what recovery does about it: that one is not listed a second time.
        var listed = new HashSet<string>(problems.Select(p => p.Path), StringComparer.Ordinal);
        foreach (string name in backups)
        {
            string path = Path.Combine(layout.Root, name);
            if (listed.Contains(path))
            {
                continue;
            }

            try
            {
                SnapshotReader.Check(envelope.OpenFile(fileSystem, PayloadKind.Snapshot, FileRecovery.SnapshotId, path), path);
            }
            catch (FileNotFoundException)
            {
                // Rotated away by a running server since the listing.
            }
            catch (Exception ex) when (UnreadableFile.IsRefusal(ex))
            {
                problems.Add(new StateDirectoryProblem(path, null, UnreadableFile.Problem(path, ex) + "; recovery cannot fall back to this backup"));
            }
            catch (StateFormatException ex)
            {
                problems.Add(new StateDirectoryProblem(path, null, ex.Message));
            }
            catch (Exception ex) when (ex is InvalidDataException or System.Security.Cryptography.CryptographicException)
            {
                problems.Add(new StateDirectoryProblem(path, null, $"the backup is corrupt ({ex.Message}); recovery cannot fall back to it, and moves it aside if it ever reaches it"));
            }
        }

        return backups.Count;
    }

    private static int CheckReports(IFileSystem fileSystem, StateLayout layout, PayloadEnvelope envelope, List<StateDirectoryProblem> problems)
    {
        int count = 0;
        foreach (string name in fileSystem.ListFiles(layout.ReportsDirectory))
        {
            string path = Path.Combine(layout.ReportsDirectory, name);
            if (Skipped(name))
            {
                continue;
            }

            string? id = name.StartsWith("report_", StringComparison.Ordinal) && StateLayout.ItemId(name) is { } stem ? stem["report_".Length..] : null;
            if (id is null || !StateId.IsValid(id))
            {
                problems.Add(new StateDirectoryProblem(path, null, "not a report (expected 'report_<id>.json'); the store ignores it"));
                continue;
            }

            count++;
            try
            {
                if (ReportContent.Problem(envelope.Open(PayloadKind.Report, id, fileSystem.ReadAllBytes(path), path), id) is { } problem)
                {
                    problems.Add(new StateDirectoryProblem(path, id, problem));
                }
            }
            catch (FileNotFoundException)
            {
                count--;
            }
            catch (Exception ex) when (UnreadableFile.IsRefusal(ex))
            {
                problems.Add(new StateDirectoryProblem(path, id, UnreadableFile.Problem(path, ex)));
            }
            catch (StateFormatException ex)
            {
                problems.Add(new StateDirectoryProblem(path, id, ex.Message));
            }
            catch (Exception ex) when (ex is InvalidDataException or JsonException or System.Security.Cryptography.CryptographicException)
            {
                problems.Add(new StateDirectoryProblem(path, id, $"the report does not parse ({ex.Message}); reading it moves it aside"));
            }
        }

        return count;
    }

    private static void CheckRecoveryReport(IFileSystem fileSystem, StateLayout layout, List<StateDirectoryProblem> problems)
    {
        if (!fileSystem.FileExists(layout.RecoveryReportFile))
        {
            return;
        }

        try
        {
            JsonSerializer.Deserialize(fileSystem.ReadAllBytes(layout.RecoveryReportFile), StateJsonContext.Default.RecoveryReport);
        }
        catch (FileNotFoundException)
        {
            // Replaced by a running server's start since the look (it writes the report atomically).
        }
        catch (Exception ex) when (UnreadableFile.IsRefusal(ex))
        {
            problems.Add(new StateDirectoryProblem(layout.RecoveryReportFile, null, UnreadableFile.Problem(layout.RecoveryReportFile, ex)));
        }
        catch (JsonException ex)
        {
            problems.Add(new StateDirectoryProblem(layout.RecoveryReportFile, null, $"the recovery report does not parse ({ex.Message})"));
        }
    }

    /// <summary>
    /// A directory under a name where the store keeps a file (<c>state.json</c>, a backup, <c>tasks/&lt;id&gt;.json</c>, a
    /// session log, a report...): the file listings skip directories, so without this it would pass unseen, while the
    /// store can neither read the file nor rename a new one over it.
    /// </summary>
    private static void DirectoriesWhereFilesBelong(StateLayout layout, List<StateDirectoryProblem> problems)
    {
        foreach (string directory in (string[])[layout.Root, .. layout.Directories])
        {
            if (!Directory.Exists(directory))
            {
                continue;
            }

            foreach (string path in Directory.EnumerateDirectories(directory).Order(StringComparer.Ordinal))
            {
                StateFile file = StateFiles.Classify(layout.Root, path);
                if (file.Kind is not (StateFileKind.Other or StateFileKind.Temp or StateFileKind.MovedAside))
                {
                    problems.Add(new StateDirectoryProblem(path, file.Id, UnreadableFile.Problem(path, new IOException($"'{path}' is a directory"))));
                }
            }
        }
    }

    /// <summary>Writes in progress (temp files) and files already moved aside as corrupt.</summary>
    internal static bool Skipped(string name) =>
        StateLayout.IsTempFile(name) || name.Contains(StateLayout.CorruptMarker, StringComparison.Ordinal);
}
