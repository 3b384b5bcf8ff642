using StatePersistence.Errors;
using StatePersistence.FileStore.Snapshot;
using StatePersistence.FileSystem;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.FileStore.Operations;

/// <summary>
/// The backups of a state directory (<c>state.backup.&lt;timestamp&gt;.json</c>, the former <c>state.json</c> files
/// each checkpoint keeps): listing them, read-only, and restoring one, which really rolls the state back.
/// </summary>
public static class StateBackups
{
    /// <summary>
    /// Lists the backups of <paramref name="stateDirectory"/>, newest first, each with what it holds or why it does not
    /// parse. Read-only and lock-free, so it runs beside a server: a backup is never written in place (it is a renamed
    /// <c>state.json</c>), and one that rotation deletes meanwhile is left out. A backup sealed with a codec while
    /// <paramref name="codec"/> is null (an encrypted directory listed without its key) throws
    /// <see cref="StateFormatException"/> (<see cref="StateFormatException.ReaderLacksCodec"/>).
    /// </summary>
    public static IReadOnlyList<StateBackupInfo> List(string stateDirectory, IPayloadCodec? codec = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(stateDirectory);
        string root = Path.GetFullPath(stateDirectory);
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException(StateDirectoryAbsence.Describe(root));
        }

        IFileSystem fileSystem = PhysicalFileSystem.Instance;
        var layout = new StateLayout(root);
        PayloadEnvelope envelope = PayloadEnvelope.For(codec);
        var backups = new List<StateBackupInfo>();
        foreach (string name in new Backups(fileSystem, layout).ListNewestFirst())
        {
            if (!StateLayout.TryParseTimestamp(StateLayout.BackupTimestamp(name)!, out DateTimeOffset time))
            {
                continue;
            }

            string path = Path.Combine(root, name);
            byte[] bytes;
            try
            {
                bytes = fileSystem.ReadAllBytes(path);
            }
            catch (FileNotFoundException)
            {
                // Rotated away by a running server between the listing and the read: it no longer exists.
                continue;
            }

            backups.Add(Describe(name, time, bytes, path, envelope));
        }

        return backups;
    }

    /// <summary>
    /// Lists the backups the original Node implementation wrote in <paramref name="stateDirectory"/>
    /// (<c>state.backup.&lt;epoch-ms&gt;.json</c>), newest first, by the time in their names: <see cref="List"/> leaves
    /// them out, as no restore takes them until the migration (<c>statectl migrate apply</c>, or a start with
    /// <see cref="StatePersistenceOptions.AutoMigrate"/>) renames them to this library's names. Read-only; their
    /// content is not read.
    /// </summary>
    public static IReadOnlyList<NodeBackupInfo> ListNodeBackups(string stateDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(stateDirectory);
        string root = Path.GetFullPath(stateDirectory);
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException(StateDirectoryAbsence.Describe(root));
        }

        var backups = new List<NodeBackupInfo>();
        foreach (string name in PhysicalFileSystem.Instance.ListFiles(root))
        {
            if (!Migrations.NodeImport.NodeFileNames.TryParseBackup(name, out long epochMs))
            {
                continue;
            }

            try
            {
                backups.Add(new NodeBackupInfo(name, Migrations.NodeImport.NodeFileNames.Time(epochMs), new FileInfo(Path.Combine(root, name)).Length));
            }
            catch (FileNotFoundException)
            {
                // Gone between the listing and the look (a migration renaming it): it is no longer one.
            }
        }

        return [.. backups.OrderByDescending(backup => backup.Time)];
    }

    /// <summary>
    /// Reads backup <paramref name="backupName"/> (a file name from <see cref="List"/>) of
    /// <paramref name="stateDirectory"/> without opening the store (no lock, no recovery, nothing written): a name
    /// that is not a backup's, a missing backup or one that does not parse is refused with an error naming it. What a
    /// restore reads before it opens the directory, so that a refused restore changes nothing.
    /// </summary>
    public static StateBackupContent Read(string stateDirectory, string backupName, IPayloadCodec? codec = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(stateDirectory);
        var layout = new StateLayout(Path.GetFullPath(stateDirectory));
        if (!Directory.Exists(layout.Root))
        {
            throw new DirectoryNotFoundException(StateDirectoryAbsence.Describe(layout.Root));
        }

        PayloadEnvelope envelope = PayloadEnvelope.For(codec);
        (Model.PersistedState state, long revision) = FileStateStore.ReadBackup(PhysicalFileSystem.Instance, layout, envelope, backupName);
        return new StateBackupContent(backupName, revision, state);
    }

    /// <summary>
    /// Restores backup <paramref name="backupName"/> (a file name from <see cref="List"/>) into the started
    /// <paramref name="service"/> over a file store; see the overload taking a <see cref="StateBackupContent"/>. A bad
    /// name, a missing backup or one that does not parse is refused with an error naming it, and nothing is changed
    /// by the restore itself; but the service is already open, so start-up recovery may have written. To refuse
    /// before anything is written, <see cref="Read"/> the backup before opening the service.
    /// </summary>
    public static Task<StateBackupRestore> RestoreAsync(StatePersistenceService service, string backupName,
        CancellationToken cancellationToken = default)
    {
        FileStateStore store = FileStoreOf(service);
        (Model.PersistedState state, long revision) = store.ReadBackup(backupName);
        return RestoreAsync(service, new StateBackupContent(backupName, revision, state), cancellationToken);
    }

    /// <summary>
    /// Restores <paramref name="backup"/> (read by <see cref="Read"/>) into the started <paramref name="service"/>
    /// over a file store: the current state is first written as a snapshot, then the backup's state replaces the
    /// whole state as one journaled change (items changed or created after the backup are rolled back, deleted ones
    /// come back), and the checkpoint that follows turns the snapshot of the state before the restore into the newest
    /// backup. A crash at any point leaves either the state before or the restored one. Session logs and reports are
    /// not part of a backup and are left as they are.
    /// </summary>
    public static async Task<StateBackupRestore> RestoreAsync(StatePersistenceService service, StateBackupContent backup,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(backup);
        FileStateStore store = FileStoreOf(service);

        // The state as it is now goes into state.json, which the restore's own snapshot below renames to the newest
        // backup: the state before the restore is kept, and can itself be restored.
        await service.SaveSnapshotIfChangedAsync(cancellationToken).ConfigureAwait(false);
        bool hadState = store.HasStateFile;
        long before = service.Revision;
        try
        {
            await service.SaveStateAsync(backup.State, cancellationToken).ConfigureAwait(false);
        }
        catch (StateSnapshotFailedException ex)
        {
            // The restore is committed (journaled): saying it failed would send the operator looking for a state that
            // is gone. The snapshot failed somewhere in its steps, so the state before the restore is in state.json
            // if it did not get as far as replacing it, else in the backup that replacing made.
            string? kept = !hadState ? null : store.StateFileRevision() == before ? Path.GetFileName(store.Layout.StateFile) : store.NewestBackupName();
            return new StateBackupRestore(backup.Name, backup.Revision, kept, backup.State.Tasks.Count, backup.State.Sessions.Count, ex.CommittedRevision)
            {
                SnapshotFailure = ex.InnerException?.Message ?? ex.Message,
            };
        }

        return new StateBackupRestore(backup.Name, backup.Revision, hadState ? store.NewestBackupName() : null,
            backup.State.Tasks.Count, backup.State.Sessions.Count, service.Revision);
    }

    private static FileStateStore FileStoreOf(StatePersistenceService service)
    {
        ArgumentNullException.ThrowIfNull(service);
        return service.Store as FileStateStore
            ?? throw new ArgumentException($"Backups belong to the file store; '{service.Location}' is not one.", nameof(service));
    }

    private static StateBackupInfo Describe(string name, DateTimeOffset time, byte[] bytes, string path, PayloadEnvelope envelope)
    {
        try
        {
            SnapshotContent content = SnapshotReader.Read(envelope.Open(PayloadKind.Snapshot, FileRecovery.SnapshotId, bytes, path), path);
            return new StateBackupInfo(name, time, bytes.Length, content.View.Revision, content.LastSaved,
                content.View.Tasks.Count, content.View.Sessions.Count, null);
        }
        // A reader without the codec the backups were sealed with (an encrypted directory listed without its key) learns
        // nothing about any backup: that is thrown, not reported as every backup failing to parse.
        catch (Exception ex) when (ex is InvalidDataException or StateFormatException { ReaderLacksCodec: false } or System.Security.Cryptography.CryptographicException)
        {
            return new StateBackupInfo(name, time, bytes.Length, null, null, null, null, ex.Message);
        }
    }
}
