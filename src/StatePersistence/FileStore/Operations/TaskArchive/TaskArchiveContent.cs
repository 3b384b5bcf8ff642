using StatePersistence.Ids;
using StatePersistence.Serialization;
using StatePersistence.Commit;

namespace StatePersistence.FileStore.Operations.TaskArchive;

/// <summary>
/// The rules of what a task archive holds that need no store: every id its manifest names is a valid id, every task,
/// session log and report it names has its entry listed, every task entry is a task holding its own id, and every report
/// entry a JSON object not holding another report's id (what the stores take as a report). The whole
/// read (<see cref="TaskArchiveWholeRead"/>) applies them, so <c>statectl verify</c> and <c>archive list --verify</c>
/// refuse what a restore refuses, in its words; the restore applies the task rule again to a sealed archive's entries
/// once it has opened them. Before 2026-12-07 only the restore knew them: an archive whose manifest named a task with
/// no listed entry, an invalid id, or whose task entry held another task, verified sound and was refused by its restore
/// (<c>VerifyRefusesWhatRestoreRefusesTests</c>). A report entry that is not a report was restored, exit 0, and moved
/// aside as corrupt by the first read of it, until 2026-12-07 (<c>ArchivedReportContentTests</c>).
/// </summary>
internal static class TaskArchiveContent
{
    /// <summary>
    /// The first id the manifest names that is not a valid id, or task, log or report whose entry it does not list, as
    /// the damage (not thrown), else null: what the manifest alone tells, sealed or not.
    /// </summary>
    public static InvalidDataException? ManifestProblem(TaskArchiveManifest manifest, string path)
    {
        var listed = new HashSet<string>(manifest.Entries.Select(e => e.Name), StringComparer.Ordinal);
        foreach (ArchivedTask task in manifest.Tasks)
        {
            IEnumerable<(string Kind, string Id, string Entry)> named = [
                ("task", task.Id, TaskArchiveManifest.TaskEntry(task.Id)),
                .. task.SessionLogs.Select(id => ("session", id, TaskArchiveManifest.LogEntry(id))),
                .. task.Reports.Select(id => ("report", id, TaskArchiveManifest.ReportEntry(id))),
            ];
            foreach ((string kind, string id, string entry) in named)
            {
                if (!StateId.IsValid(id))
                {
                    return new InvalidDataException($"The archive '{path}' is damaged: its manifest names the {kind} id '{id}', which is not a valid id.");
                }

                if (!listed.Contains(entry))
                {
                    return new InvalidDataException($"The archive '{path}' is damaged: its manifest names the {kind} '{id}' and does not list its entry '{entry}'.");
                }
            }
        }

        return null;
    }

    /// <summary>
    /// The task in <paramref name="json"/>, the content of the entry of task <paramref name="id"/>, else
    /// <see cref="InvalidDataException"/> naming the archive and the entry: it is not a task, or holds another task.
    /// </summary>
    public static StoredItem Task(string path, string id, byte[] json)
    {
        string entry = TaskArchiveManifest.TaskEntry(id);
        StoredItem item;
        try
        {
            item = ItemCodec.TaskItem(json);
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw TaskArchiveFile.Damaged(path, entry, $"is not a task ({ex.Message})", ex);
        }

        return item.Id == id ? item : throw TaskArchiveFile.Damaged(path, entry, $"holds task '{item.Id}'");
    }

    /// <summary>
    /// Null when the entry of report <paramref name="id"/> holds a report: a JSON object, and not one holding another
    /// report's id (<see cref="ReportContent"/>, the rule verify and import apply to a report file), else the damage.
    /// </summary>
    public static InvalidDataException? ReportProblem(string path, string id, byte[] json)
    {
        string entry = TaskArchiveManifest.ReportEntry(id);
        try
        {
            return ReportContent.Problem(json, id) is { } problem ? TaskArchiveFile.Damaged(path, entry, $"is not a report ({problem})") : null;
        }
        catch (System.Text.Json.JsonException ex)
        {
            return TaskArchiveFile.Damaged(path, entry, $"is not a report ({ex.Message})", ex);
        }
    }

    /// <summary>
    /// Every task of the manifest, from its entry's content as <paramref name="plain"/> gives it (opened, when the
    /// archive is sealed), checked by <see cref="Task"/>, once every report's entry passed <see cref="ReportProblem"/>.
    /// </summary>
    public static List<StoredItem> Tasks(TaskArchiveManifest manifest, Func<string, byte[]> plain, string path)
    {
        foreach (string reportId in manifest.Tasks.SelectMany(t => t.Reports))
        {
            if (ReportProblem(path, reportId, plain(TaskArchiveManifest.ReportEntry(reportId))) is { } problem)
            {
                throw problem;
            }
        }

        return [.. manifest.Tasks.Select(t => Task(path, t.Id, plain(TaskArchiveManifest.TaskEntry(t.Id))))];
    }
}
