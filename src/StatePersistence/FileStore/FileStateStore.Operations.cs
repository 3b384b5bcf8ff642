using StatePersistence.Errors;
using StatePersistence.FileStore.Migrations.NodeImport;
using StatePersistence.FileStore.Snapshot;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.FileStore;

/// <summary>The store's side of the operator jobs in <c>FileStore/Operations/</c>: reading a backup while the store is open.</summary>
public sealed partial class FileStateStore
{
    /// <summary>
    /// Set by <c>StateRebuild</c>: the next open rebuilds the state from the item files and the journal even when
    /// <c>state.json</c> is valid (which then only serves as the first fallback, like a backup).
    /// </summary>
    internal bool RebuildOnOpen { get; init; }

    /// <summary>Tests set it small, so that a replay spans many windows (see <c>FileRecovery.ReplayWindowBytes</c>).</summary>
    internal int ReplayWindowBytes { get; init; } = FileRecovery.DefaultReplayWindowBytes;

    /// <summary>
    /// The state an ordinary start would recover (<c>state.json</c>, then the journal after it; the item files when
    /// <c>state.json</c> is unusable), read without changing anything and before the store is started: what a rebuild
    /// compares its result with.
    /// </summary>
    internal Commit.StateView ReadAsRecoveryWould() =>
        new Operations.ReadAttempt(_fileSystem, _layout, _envelope, checkItemFiles: false, lastAttempt: true).Run(attempt: 1)!.View;

    /// <summary>The ids in <c>state.json</c> as it is on disk, or null when there is none or it does not parse.</summary>
    internal (IReadOnlyCollection<string> Tasks, IReadOnlyCollection<string> Sessions)? StateFileIds()
    {
        try
        {
            SnapshotContent content = SnapshotReader.Read(_envelope.OpenFile(_fileSystem, PayloadKind.Snapshot, FileRecovery.SnapshotId, _layout.StateFile), _layout.StateFile);
            return (content.View.Tasks.Keys.ToList(), content.View.Sessions.Keys.ToList());
        }
        catch (Exception ex) when (ex is FileNotFoundException or InvalidDataException or System.Security.Cryptography.CryptographicException)
        {
            return null;
        }
    }

    /// <summary>
    /// The state a backup holds, read through this store's file system and codec. A name that is not a backup's,
    /// a missing backup or one that does not parse is refused with an error naming it; the file is left as it is.
    /// </summary>
    internal (PersistedState State, long Revision) ReadBackup(string name) => ReadBackup(_fileSystem, _layout, _envelope, name);

    /// <summary>
    /// <see cref="ReadBackup(string)"/> without an open store: what a restore checks before it opens the directory.
    /// </summary>
    internal static (PersistedState State, long Revision) ReadBackup(IFileSystem fileSystem, StateLayout layout, PayloadEnvelope envelope, string name)
    {
        if (!string.IsNullOrEmpty(name) && Path.GetFileName(name) == name && NodeFileNames.TryParseBackup(name, out long epochMs)
            && fileSystem.FileExists(Path.Combine(layout.Root, name)))
        {
            // A backup, but the Node implementation's: "not a backup's file name" sent the operator looking for a typo.
            DateTimeOffset time = NodeFileNames.Time(epochMs);
            string newName = Path.GetFileName(layout.BackupFile(StateLayout.Timestamp(time)));
            string when = time.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);
            throw new StatePersistenceException(
                $"'{name}' in '{layout.Root}' is a backup of the original Node implementation (named by its time, {when} UTC, in epoch milliseconds), which is not restored as it is: "
                + $"the directory's migration ('statectl migrate apply', or a start with AutoMigrate) renames it {newName} (the name 'statectl backups list' then shows), which a restore takes. Nothing was changed.",
                Path.Combine(layout.Root, name));
        }

        string path = BackupPath(layout, name);
        if (!fileSystem.FileExists(path))
        {
            throw new StatePersistenceException($"The backup '{path}' does not exist.", path);
        }

        SnapshotContent content;
        try
        {
            content = SnapshotReader.Read(envelope.OpenFile(fileSystem, PayloadKind.Snapshot, FileRecovery.SnapshotId, path), path);
        }
        catch (Exception ex) when (ex is InvalidDataException or System.Security.Cryptography.CryptographicException)
        {
            throw new StatePersistenceException($"The backup '{path}' cannot be restored: it is damaged ({ex.Message}). Nothing was changed.", path, innerException: ex);
        }

        return (Operations.BackupContent.ToState(content), content.View.Revision);
    }

    /// <summary>The revision of <c>state.json</c> as it is on disk, or null when there is none or it does not read.</summary>
    internal long? StateFileRevision()
    {
        try
        {
            return SnapshotReader.Read(_envelope.OpenFile(_fileSystem, PayloadKind.Snapshot, FileRecovery.SnapshotId, _layout.StateFile), _layout.StateFile).View.Revision;
        }
        catch (Exception ex) when (ex is FileNotFoundException or InvalidDataException or System.Security.Cryptography.CryptographicException or IOException)
        {
            return null;
        }
    }

    /// <summary>Whether <c>state.json</c> exists (a checkpoint will turn it into a backup).</summary>
    internal bool HasStateFile => _fileSystem.FileExists(_layout.StateFile);

    /// <summary>The newest backup's file name, or null when there is none.</summary>
    internal string? NewestBackupName() => _backups.ListNewestFirst() is { Count: > 0 } names ? names[0] : null;

    /// <summary>The path of backup <paramref name="name"/>: a bare <c>state.backup.&lt;timestamp&gt;.json</c> name, nothing else.</summary>
    internal static string BackupPath(StateLayout layout, string name)
    {
        if (string.IsNullOrEmpty(name) || Path.GetFileName(name) != name || StateLayout.BackupTimestamp(name) is not { } stamp
            || !StateLayout.TryParseTimestamp(stamp, out _))
        {
            throw new StateValidationException("backup", $"'{name}' is not a backup's file name (state.backup.<timestamp>.json in the state directory, as 'statectl backups list' shows it)");
        }

        return Path.Combine(layout.Root, name);
    }
}
