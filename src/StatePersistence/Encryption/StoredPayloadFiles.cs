using StatePersistence.FileStore;
using StatePersistence.FileStore.Journal;
using StatePersistence.FileStore.Migrations;
using StatePersistence.FileStore.Operations;
using StatePersistence.FileSystem;
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
    /// <summary>A file read whole or as a container of payloads (a snapshot, a journal segment, a session log).</summary>
    private static readonly Reading Whole = new(null, null, TaskArchive: false);

    /// <summary>The files under <paramref name="root"/>, each with what the store reads it as.</summary>
    public static IEnumerable<StoredPayloadFile> Under(string root)
    {
        var layout = new StateLayout(root);
        foreach (StoredPayloadFile file in In(root, name =>
            name == "state.json" || name == PreMigrationBackup.StateCopyName || StateLayout.BackupTimestamp(name) is not null ? Whole : null))
        {
            yield return file;
        }

        foreach (StoredPayloadFile file in In(layout.JournalDirectory, name => JournalReader.TryParseSegmentNumber(name, out _) ? Whole : null)
            .Concat(In(layout.TasksDirectory, name => Item(PayloadKind.Task, StateLayout.ItemId(name))))
            .Concat(In(layout.SessionsDirectory, name => Item(PayloadKind.Session, StateLayout.ItemId(name))))
            .Concat(In(layout.LogsDirectory, name => StateLayout.TryParseSessionLogName(name, out _, out _) ? Whole : null))
            .Concat(In(layout.ReportsDirectory, name => name.StartsWith("report_", StringComparison.Ordinal) ? Item(PayloadKind.Report, StateLayout.ItemId(name)?["report_".Length..]) : null))
            .Concat(In(TaskArchives.DirectoryOf(root), name => name.EndsWith(TaskArchives.FileExtension, StringComparison.Ordinal) ? new Reading(null, null, TaskArchive: true) : null)))
        {
            yield return file;
        }

        // The copy a migration took: 'migrate rollback' puts it back, and the store reads it again.
        string copy = Path.Combine(root, PreMigrationBackup.DirectoryName);
        if (Directory.Exists(copy))
        {
            foreach (StoredPayloadFile file in Under(copy))
            {
                yield return file;
            }
        }
    }

    private static Reading? Item(PayloadKind kind, string? id) => id is { Length: > 0 } ? new Reading(kind, id, TaskArchive: false) : null;

    /// <summary>The files of one directory the store reads (<paramref name="read"/> not null) and those moved aside there.</summary>
    private static IEnumerable<StoredPayloadFile> In(string directory, Func<string, Reading?> read)
    {
        foreach (string name in PhysicalFileSystem.Instance.ListFiles(directory))
        {
            if (StateLayout.IsTempFile(name))
            {
                continue;
            }

            string path = Path.Combine(directory, name);
            if (name.Contains(StateLayout.CorruptMarker, StringComparison.Ordinal))
            {
                yield return new StoredPayloadFile(path, MovedAside: true, null, null, TaskArchive: false);
            }
            else if (read(name) is { } reading)
            {
                yield return new StoredPayloadFile(path, MovedAside: false, reading.Kind, reading.Id, reading.TaskArchive);
            }
        }
    }

    private sealed record Reading(PayloadKind? Kind, string? Id, bool TaskArchive);
}

/// <summary>One file of <see cref="StoredPayloadFiles"/>.</summary>
/// <param name="Path">Its full path.</param>
/// <param name="MovedAside">Moved aside as corrupt (or a torn tail kept aside): the store no longer reads it, an operator may.</param>
/// <param name="Kind">For a file that is one standalone payload (a task, session or report), its kind: its checksum binds it.</param>
/// <param name="Id">The id the standalone payload is bound to.</param>
/// <param name="TaskArchive">A task archive (<c>archive/tasks.*.tar.gz</c>), whose entries are sealed inside the gzip.</param>
internal sealed record StoredPayloadFile(string Path, bool MovedAside, PayloadKind? Kind, string? Id, bool TaskArchive);
