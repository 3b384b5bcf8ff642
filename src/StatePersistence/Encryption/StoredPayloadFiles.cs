using StatePersistence.FileStore;
using StatePersistence.Serialization;

namespace StatePersistence.Encryption;

/// <summary>
/// The files of a state directory whose payloads some key must open: what the store reads (<c>state.json</c> and its
/// backups, journal segments, task and session files, session logs and their parts, reports, task archives, and the
/// <c>pre-migration/</c> copy a rollback puts back), and the files moved aside beside them (<c>*.corrupt.*</c>: damaged
/// copies, and the torn tails of journal segments and session logs, which may hold acknowledged data). Nothing else:
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
            StoredPayloadFile? stored = file.Kind switch
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
}

/// <summary>One file of <see cref="StoredPayloadFiles"/>.</summary>
/// <param name="Path">Its full path.</param>
/// <param name="MovedAside">Moved aside as corrupt (or a torn tail kept aside): the store no longer reads it, an operator may.</param>
/// <param name="Kind">For a file that is one standalone payload (a task, session or report), its kind: its checksum binds it.</param>
/// <param name="Id">The id the standalone payload is bound to.</param>
/// <param name="TaskArchive">A task archive (<c>archive/tasks.*.tar.gz</c>), whose entries are sealed inside the gzip.</param>
internal sealed record StoredPayloadFile(string Path, bool MovedAside, PayloadKind? Kind, string? Id, bool TaskArchive);
