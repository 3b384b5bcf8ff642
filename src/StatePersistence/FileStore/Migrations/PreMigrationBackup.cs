using System.Text.Json;
using StatePersistence.Errors;
using StatePersistence.FileSystem;
using StatePersistence.Storage;

namespace StatePersistence.FileStore.Migrations;

/// <summary>
/// The backup taken before a migration changes anything: <c>state.json</c> copied to
/// <c>state.pre-migration.backup.json</c> (the seed's name) and every other file of the directory copied under
/// <c>pre-migration/</c> at its own relative path, each durable before <c>pre-migration/manifest.json</c> lists them
/// with their length, SHA-256 and Unix mode. <see cref="Restore"/> puts the directory back to exactly that: every
/// listed file with its bytes and mode, every other file removed, a copy kept first (but for a run that never finished).
/// It is idempotent, so a crash during a rollback is finished by the next one.
/// </summary>
internal sealed class PreMigrationBackup(IFileSystem fileSystem, StateLayout layout)
{
    /// <summary>The folder holding the copies and the manifest.</summary>
    public const string DirectoryName = "pre-migration";

    /// <summary>The copy of <c>state.json</c>.</summary>
    public const string StateCopyName = "state.pre-migration.backup.json";

    /// <summary>The prefix of the folders a rollback keeps what it discards in (<see cref="MigrationManifest.DiscardedTo"/>).</summary>
    public const string DiscardFolderPrefix = "rolled-back.";

    /// <summary>The prefix of the migration logs, which a rollback keeps: they are the record of what ran.</summary>
    public const string LogPrefix = "state.migration-";

    public string Folder => Path.Combine(layout.Root, DirectoryName);

    public string ManifestPath => Path.Combine(Folder, "manifest.json");

    /// <summary>The subdirectories whose files a migration may change (the state directory's own files too).</summary>
    private IEnumerable<string> Subdirectories => layout.Directories;

    /// <summary>The manifest of the last run, or null when no migration ever ran here.</summary>
    public MigrationManifest? ReadManifest()
    {
        if (!fileSystem.FileExists(ManifestPath))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(fileSystem.ReadAllBytes(ManifestPath), MigrationJsonContext.Default.MigrationManifest)
                ?? throw new JsonException("the manifest is null");
        }
        catch (JsonException ex)
        {
            throw new StateStorageException($"The migration manifest '{ManifestPath}' is damaged ({ex.Message}); nothing was changed. "
                + "Restore it from a copy, or, if no migration was running, move the pre-migration folder away.", ManifestPath, ex, isTransient: false);
        }
    }

    /// <summary>
    /// Refuses, before anything is written, a directory holding a symbolic link among the files a backup would copy.
    /// The backup copies and the rollback restores files, not links: a link that works came back from a rollback as a
    /// regular file, the permission fix changed the mode of the file it names outside the directory (a change no
    /// rollback put back), and a broken one failed the run half-way, leaving the backup behind. Links to directories
    /// are followed like the directories they name, and are not listed here.
    /// </summary>
    public void RefuseLinks()
    {
        if (LinksBlocker() is { } blocker)
        {
            throw new StateStorageException(blocker + " Nothing was changed.", layout.Root, null, isTransient: false);
        }
    }

    /// <summary>
    /// Why a migration would not start here, naming each symbolic link <see cref="RefuseLinks"/> refuses and its target,
    /// or null when there is none: what <c>statectl migrate status</c> shows as a blocker, in the words of the refusal.
    /// </summary>
    public string? LinksBlocker()
    {
        var links = new List<string>();
        foreach (string relative in ListFiles())
        {
            string path = Path.Combine(layout.Root, relative);
            if (fileSystem.LinkTargetOf(path) is { } target)
            {
                links.Add($"'{relative}' -> '{target}'{(LeadsNowhere(path) ? " (broken)" : "")}");
            }
        }

        return links.Count == 0 ? null
            : $"The state directory '{layout.Root}' holds {links.Count} symbolic link(s): {string.Join(", ", links)}. "
                + "A migration backs up and restores files, not links, so it does not run on them: replace each link with the file it names "
                + "(cp --remove-destination TARGET LINK) or move it out of the directory, then migrate again.";
    }

    /// <summary>
    /// Whether the link at <paramref name="path"/>, followed to its end, names nothing (or loops). Asked of its last
    /// target: .NET's <c>File.Exists</c> is true for a broken link itself.
    /// </summary>
    private bool LeadsNowhere(string path)
    {
        string current = path;
        for (int hop = 0; hop < 40; hop++)
        {
            if (fileSystem.LinkTargetOf(current) is not { } next)
            {
                return !fileSystem.FileExists(current) && !fileSystem.DirectoryExists(current);
            }

            current = Path.GetFullPath(next, Path.GetDirectoryName(current)!);
        }

        return true; // as the kernel gives up on a loop (ELOOP after 40 links)
    }

    /// <summary>Copies every file, durably, then writes the manifest (status <see cref="MigrationManifest.Migrating"/>).</summary>
    public MigrationManifest Take(string from, string to, DateTimeOffset now)
    {
        // An earlier run's backup is replaced. Its manifest goes first: no crash may leave a manifest beside copies
        // that are being overwritten. Before it, that run's copy of state.json at the seed's name, when the file there
        // is still that copy: once no manifest is left, a file there that is not a copy of state.json is taken for
        // the directory's own (see ListFiles) and backed up like any other.
        if (fileSystem.FileExists(ManifestPath))
        {
            if (ReadManifest() is { } earlier && !StateCopyIsInFolder(earlier)
                && earlier.Files.Find(file => file.Path == "state.json") is { } state
                && StreamedCopy.Fingerprint(fileSystem, Path.Combine(layout.Root, StateCopyName)) == (state.Length, state.Sha256))
            {
                fileSystem.Delete(Path.Combine(layout.Root, StateCopyName));
                fileSystem.SyncDirectory(layout.Root);
            }

            fileSystem.Delete(ManifestPath);
            fileSystem.SyncDirectory(Folder);
        }

        if (!fileSystem.DirectoryExists(Folder))
        {
            fileSystem.CreateDirectory(Folder);
            fileSystem.SyncDirectory(layout.Root);
        }

        var manifest = new MigrationManifest { From = from, To = to, Status = MigrationManifest.Migrating, StartedAt = now };
        var copyDirectories = new HashSet<string>(StringComparer.Ordinal) { Folder };
        List<string> files = ListFiles(manifest: null);
        bool stateCopyInFolder = files.Contains(StateCopyName, StringComparer.Ordinal);
        foreach (string relative in files)
        {
            string copy = CopyPath(relative, stateCopyInFolder);
            string copyDirectory = Path.GetDirectoryName(copy)!;
            if (copyDirectories.Add(copyDirectory) && !fileSystem.DirectoryExists(copyDirectory))
            {
                fileSystem.CreateDirectory(copyDirectory);
            }

            (long length, string sha256) = StreamedCopy.Copy(fileSystem, layout, Path.Combine(layout.Root, relative), copy, syncDirectory: false);
            manifest.Files.Add(new BackedUpFile(relative, length, sha256, Octal(fileSystem.UnixModeOf(Path.Combine(layout.Root, relative)))));
        }

        foreach (string directory in (string[])[layout.Root, .. Subdirectories])
        {
            if (fileSystem.DirectoryExists(directory) && Octal(fileSystem.UnixModeOf(directory)) is { } mode)
            {
                manifest.Directories.Add(new BackedUpDirectory(Relative(directory), mode));
            }
        }

        foreach (string directory in copyDirectories)
        {
            fileSystem.SyncDirectory(directory);
        }

        fileSystem.SyncDirectory(layout.Root);
        WriteManifest(manifest);
        return manifest;
    }

    /// <summary>Replaces the manifest atomically (a new status).</summary>
    public void WriteManifest(MigrationManifest manifest) =>
        AtomicFile.Write(fileSystem, layout, ManifestPath, JsonSerializer.SerializeToUtf8Bytes(manifest, MigrationJsonContext.Default.MigrationManifest), Durability.Full);

    /// <summary>
    /// Refuses a rollback before it changes anything when a copy it would restore from is missing or is not what the
    /// manifest lists (length, SHA-256), naming each: found only as the rollback reached it, one damaged copy stopped
    /// the rollback midway, with the manifest at <c>rolling-back</c>, and every open then failed on the same copy. A
    /// file still in place as the manifest lists it is not restored, so its copy is not needed and not judged.
    /// </summary>
    public void RefuseDamagedCopies(MigrationManifest manifest)
    {
        var damaged = new List<string>();
        foreach (BackedUpFile file in manifest.Files)
        {
            if (StreamedCopy.Fingerprint(fileSystem, Path.Combine(layout.Root, file.Path)) == (file.Length, file.Sha256))
            {
                continue;
            }

            string copy = CopyPath(file.Path, manifest);
            if (StreamedCopy.Fingerprint(fileSystem, copy) is not { } found)
            {
                damaged.Add($"'{copy}' is missing");
            }
            else if (found != (file.Length, file.Sha256))
            {
                damaged.Add($"'{copy}' is {found.Length} bytes with SHA-256 {found.Sha256}, the manifest lists {file.Length} bytes with SHA-256 {file.Sha256}");
            }
        }

        if (damaged.Count > 0)
        {
            throw new StateStorageException($"The rollback of the migration {manifest.From} -> {manifest.To} of '{layout.Root}' was refused before it changed anything "
                + $"(the manifest still says '{manifest.Status}'): the pre-migration backup it restores from is damaged: {string.Join("; ", damaged)}. "
                + "Put back a good copy of each (from another backup of the directory), then roll back again.", layout.Root, null, isTransient: false);
        }
    }

    /// <summary>
    /// Puts every file back as the manifest lists it (bytes and mode) and removes every file it does not list. A file
    /// changed since, and every file it does not list, is first copied into <see cref="MigrationManifest.DiscardedTo"/>
    /// (see <see cref="DiscardedFiles"/>); when that is null (the rollback of a run that never finished, whose only
    /// changes are its own output) no copy is kept. Returns how many files were restored, and how many discarded.
    /// </summary>
    public (int Restored, int Removed) Restore(MigrationManifest manifest)
    {
        DiscardedFiles? discarded = manifest.DiscardedTo is { } folder ? new DiscardedFiles(fileSystem, layout, folder) : null;
        var listed = new HashSet<string>(StringComparer.Ordinal);
        int restored = 0;
        int removed = 0;
        foreach (BackedUpFile file in manifest.Files)
        {
            listed.Add(file.Path);
            string path = Path.Combine(layout.Root, file.Path);
            // Hashed and copied a block at a time, never read whole (see StreamedCopy).
            bool exists = fileSystem.FileExists(path);
            if (!exists || StreamedCopy.Fingerprint(fileSystem, path) != (file.Length, file.Sha256))
            {
                if (exists && discarded is not null)
                {
                    // The application's version of the file since the migration: kept before it is replaced.
                    discarded.KeepCopy(file.Path);
                    removed++;
                }

                // RefuseDamagedCopies checked the copy before the rollback began; checked again as it is copied, since
                // a copy that changed since must not replace the file.
                string copy = CopyPath(file.Path, manifest);
                StreamedCopy.Copy(fileSystem, layout, copy, path, syncDirectory: false, copied =>
                {
                    if (copied != (file.Length, file.Sha256))
                    {
                        throw new StateStorageException($"The pre-migration copy '{copy}' does not match its manifest (SHA-256); the rollback stopped. "
                            + "The other copies are intact; restore this file by hand.", copy, null, isTransient: false);
                    }
                });
                restored++;
            }

            if (ParseOctal(file.Mode) is { } mode)
            {
                fileSystem.SetUnixMode(path, mode);
            }
        }

        foreach (string relative in ListFiles(manifest))
        {
            if (!listed.Contains(relative))
            {
                discarded?.KeepCopy(relative);
                fileSystem.Delete(Path.Combine(layout.Root, relative));
                removed++;
            }
        }

        foreach (BackedUpDirectory directory in manifest.Directories)
        {
            string path = Path.Combine(layout.Root, directory.Path);
            if (fileSystem.DirectoryExists(path) && ParseOctal(directory.Mode) is { } mode)
            {
                fileSystem.SetUnixMode(path, mode);
            }
        }

        foreach (string directory in (string[])[layout.Root, .. Subdirectories])
        {
            if (fileSystem.DirectoryExists(directory))
            {
                fileSystem.SyncDirectory(directory);
            }
        }

        return (restored, removed);
    }

    /// <summary>
    /// The files a migration may change, relative to the state directory: those in it (but the lock, the backup and
    /// the migration logs) and those in its subdirectories.
    /// </summary>
    public List<string> ListFiles() => ListFiles(ReadManifest());

    /// <summary>
    /// <see cref="ListFiles()"/> as the run <paramref name="manifest"/> records (null: no run, or a run about to
    /// take its backup) tells the directory's own <c>state.pre-migration.backup.json</c> from this library's copy.
    /// </summary>
    private List<string> ListFiles(MigrationManifest? manifest)
    {
        // With no manifest, a copy of state.json at the seed's name is a run's that stopped before its manifest (or
        // one whose copy equals state.json, which its overwriting does not change): only another file is the directory's.
        bool ownStateCopyName = manifest is null ? !IsCopyOfStateJson() : StateCopyIsInFolder(manifest);
        var files = new List<string>();
        foreach (string name in fileSystem.ListFiles(layout.Root))
        {
            // The backup's and the logs' own files, temp files a crash left included: a backup of them would be
            // overwritten by the very writes that take it. A file at the seed's name that no run wrote is the
            // directory's own (the Node implementation kept its pre-migration backups there): it is listed.
            bool stateCopy = name.StartsWith(StateCopyName, StringComparison.Ordinal) && !(ownStateCopyName && name == StateCopyName);
            if (name is ".lock" or ".lock.owner" || stateCopy || name.StartsWith(LogPrefix, StringComparison.Ordinal))
            {
                continue;
            }

            files.Add(name);
        }

        foreach (string directory in Subdirectories)
        {
            foreach (string name in fileSystem.ListFiles(directory))
            {
                files.Add(Relative(Path.Combine(directory, name)));
            }
        }

        files.Sort(StringComparer.Ordinal);
        return files;
    }

    /// <summary>
    /// Whether the run's copy of <c>state.json</c> is <c>pre-migration/state.json</c> rather than the seed's
    /// <c>state.pre-migration.backup.json</c>: when the directory held a file of that name of its own, which the run
    /// backs up and a rollback restores like any other (before 2026-12-07 the copy of state.json overwrote it).
    /// </summary>
    public static bool StateCopyIsInFolder(MigrationManifest manifest) =>
        manifest.Files.Exists(file => string.Equals(file.Path, StateCopyName, StringComparison.Ordinal));

    /// <summary>Whether the file at the seed's name holds the bytes of <c>state.json</c> (false when either is missing).</summary>
    private bool IsCopyOfStateJson() =>
        StreamedCopy.Fingerprint(fileSystem, Path.Combine(layout.Root, StateCopyName)) is { } copy
        && StreamedCopy.Fingerprint(fileSystem, layout.StateFile) == copy;

    /// <summary>Where the copy of a file of the run <paramref name="manifest"/> records is kept.</summary>
    public string CopyPath(string relative, MigrationManifest manifest) => CopyPath(relative, StateCopyIsInFolder(manifest));

    private string CopyPath(string relative, bool stateCopyInFolder) =>
        relative == "state.json" && !stateCopyInFolder ? Path.Combine(layout.Root, StateCopyName) : Path.Combine(Folder, relative);

    private string Relative(string path) => Path.GetRelativePath(layout.Root, path).Replace('\\', '/');

    private static string? Octal(UnixFileMode? mode) => mode is { } m ? Convert.ToString((int)m, 8) : null;

    private static UnixFileMode? ParseOctal(string? mode) => mode is null ? null : (UnixFileMode)Convert.ToInt32(mode, 8);
}
