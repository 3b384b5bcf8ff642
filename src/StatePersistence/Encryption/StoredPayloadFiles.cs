using StatePersistence.FileStore;
using StatePersistence.FileStore.Migrations;
using StatePersistence.Serialization;

namespace StatePersistence.Encryption;

/// <summary>
/// The files of a state directory whose payloads some key must open: what the store reads (<c>state.json</c> and its
/// backups, journal segments, task and session files, session logs and their parts, reports, task archives, and the
/// <c>pre-migration/</c> copy a rollback puts back), the files moved aside beside them (<c>*.corrupt.*</c>: damaged
/// copies, and the torn tails of journal segments and session logs, which may hold acknowledged data), and those a
/// migration rollback kept in <c>rolled-back.&lt;timestamp&gt;/</c> (before 2026-12-07 left out). Nothing else:
/// a foreign file or folder (a copy of <c>tasks/</c> inside <c>tasks/</c>) is never read by the store, and
/// re-encryption never rewrites it, so counting it would keep its key from ever being removed. Temp files (writes in
/// flight) are left out.
/// </summary>
internal static class StoredPayloadFiles
{
    /// <summary>The files under <paramref name="root"/>, each with what the store reads it as (<see cref="StateFiles"/> tells which they are).</summary>
    public static IEnumerable<StoredPayloadFile> Under(string root)
    {
        foreach ((string path, StateFile file) in StateFiles.Under(root))
        {
            StoredPayloadFile? stored = RolledBackFolder(root, path) is { } folder ? RolledBack(folder, path) : file.Kind switch
            {
                // Beside a file the store reads: one moved aside into a folder of the operator's is theirs.
                StateFileKind.MovedAside when file.InStoreFolder => new StoredPayloadFile(path, MovedAside: true, null, null, TaskArchive: false),
                // Read whole or as a container of payloads; a migration's copy is read again once a rollback puts it back.
                StateFileKind.Snapshot or StateFileKind.Backup or StateFileKind.JournalSegment or StateFileKind.SessionLog
                    => new StoredPayloadFile(path, MovedAside: false, null, null, TaskArchive: false),
                StateFileKind.Task => new StoredPayloadFile(path, MovedAside: false, PayloadKind.Task, file.Id, TaskArchive: false),
                StateFileKind.Session => new StoredPayloadFile(path, MovedAside: false, PayloadKind.Session, file.Id, TaskArchive: false),
                StateFileKind.Report => new StoredPayloadFile(path, MovedAside: false, PayloadKind.Report, file.Id, TaskArchive: false),
                StateFileKind.TaskArchive => new StoredPayloadFile(path, MovedAside: false, null, null, TaskArchive: true),
                _ => null,
            };
            if (stored is not null)
            {
                yield return stored;
            }
        }
    }

    /// <summary>
    /// The <c>rolled-back.&lt;timestamp&gt;/</c> folder <paramref name="path"/> lies in, or null: what a migration
    /// rollback took out of the state (every file saved since the migration, at its own relative path). The store
    /// never reads it and re-encryption never rewrites it, but it is the application's data, which the operator may
    /// put back; a key removed while it seals any of it makes that data unreadable for good.
    /// </summary>
    private static string? RolledBackFolder(string root, string path)
    {
        string top = Path.GetRelativePath(root, path).Split(Path.DirectorySeparatorChar)[0];
        return top.StartsWith(PreMigrationBackup.DiscardFolderPrefix, StringComparison.Ordinal) && top != Path.GetRelativePath(root, path)
            ? Path.Combine(root, top) : null;
    }

    /// <summary>
    /// A file of a rolled-back folder that some key must open: classified as it was in the state directory (the folder
    /// keeps each file at its relative path), a copy moved aside in it included; temp files and foreign files left out.
    /// </summary>
    private static StoredPayloadFile? RolledBack(string folder, string path) => StateFiles.Classify(folder, path) switch
    {
        { Kind: StateFileKind.MovedAside, InStoreFolder: true } or { Kind: StateFileKind.Snapshot or StateFileKind.Backup or StateFileKind.JournalSegment
            or StateFileKind.SessionLog or StateFileKind.Task or StateFileKind.Session or StateFileKind.Report }
            => new StoredPayloadFile(path, MovedAside: false, null, null, TaskArchive: false, RolledBack: true),
        { Kind: StateFileKind.TaskArchive } => new StoredPayloadFile(path, MovedAside: false, null, null, TaskArchive: true, RolledBack: true),
        _ => null,
    };
}

/// <summary>One file of <see cref="StoredPayloadFiles"/>.</summary>
/// <param name="Path">Its full path.</param>
/// <param name="MovedAside">Moved aside as corrupt (or a torn tail kept aside): the store no longer reads it, an operator may.</param>
/// <param name="Kind">For a file that is one standalone payload (a task, session or report), its kind: its checksum binds it.</param>
/// <param name="Id">The id the standalone payload is bound to.</param>
/// <param name="TaskArchive">A task archive (<c>archive/tasks.*.tar.gz</c>), whose entries are sealed inside the gzip.</param>
/// <param name="RolledBack">Kept in a <c>rolled-back.&lt;timestamp&gt;/</c> folder by a migration rollback: the store no longer reads it, an operator may.</param>
internal sealed record StoredPayloadFile(string Path, bool MovedAside, PayloadKind? Kind, string? Id, bool TaskArchive, bool RolledBack = false);
