using System.Text.Json;
using StatePersistence.FileSystem;
using StatePersistence.Recovery;
using StatePersistence.Serialization;

namespace StatePersistence.FileStore.Operations;

/// <summary>
/// Why <c>state.json</c> is missing beside backups, as far as the directory tells. A start-up recovery that moved a
/// corrupt one aside says so in <c>recovery-report.json</c>, and until a checkpoint writes the recovered state again
/// there is none: "deleted by hand?" then sent the operator the wrong way (the audit of <c>statectl verify</c>: for up
/// to 30 s after such a start, until the first autosave, it said so beside a server that had just recovered). The
/// report explains the missing file only while no checkpoint has written one since: a backup newer than that start is
/// a <c>state.json</c> a checkpoint wrote and the next one renamed.
/// </summary>
internal static class MissingStateFile
{
    private const string Unexplained =
        "state.json is missing although backups exist (deleted by hand?); the view was rebuilt from the task and session files and the journal, as start-up recovery would";

    /// <summary>The problem to list for a <c>state.json</c> missing beside <paramref name="backupsNewestFirst"/>.</summary>
    public static string Problem(IFileSystem fileSystem, StateLayout layout, IReadOnlyList<string> backupsNewestFirst)
    {
        RecoveryReport? report = ReadReport(fileSystem, layout);
        QuarantinedFile? movedAside = report?.Quarantined.LastOrDefault(q => Path.GetFileName(q.OriginalPath) == "state.json");
        if (report is null || movedAside is null || WrittenSince(report.StartedAt, backupsNewestFirst))
        {
            return Unexplained;
        }

        string fields = report.SnapshotSource is "none" or "state.json"
            ? ""
            : $", with the application's fields (and each item whose file was damaged) from the backup '{report.SnapshotSource}'";
        return $"state.json is missing: the start-up recovery of {report.StartedAt:O} moved it aside as corrupt (to '{Path.GetFileName(movedAside.QuarantinePath)}': {movedAside.Reason}) "
            + $"and recovered the state from the task and session files and the journal{fields}, as this view does. Start-up writes no state.json "
            + "(a checkpoint does, and deletes what it covers; start-up deletes nothing): the next checkpoint of the server running on the directory writes it, "
            + "its first autosave (by default 30 s after its start) or its shutdown; without a server, the next start recovers the same way";
    }

    /// <summary>
    /// Whether a checkpoint made a backup after that start: it renamed a <c>state.json</c> written since, so the report
    /// no longer explains why there is none now.
    /// </summary>
    private static bool WrittenSince(DateTimeOffset startedAt, IReadOnlyList<string> backupsNewestFirst) =>
        backupsNewestFirst.Count > 0 && StateLayout.BackupTimestamp(backupsNewestFirst[0]) is { } stamp
        && StateLayout.TryParseTimestamp(stamp, out DateTimeOffset newest) && newest > startedAt;

    private static RecoveryReport? ReadReport(IFileSystem fileSystem, StateLayout layout)
    {
        try
        {
            return JsonSerializer.Deserialize(fileSystem.ReadAllBytes(layout.RecoveryReportFile), StateJsonContext.Default.RecoveryReport);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            // None, or one the verifier lists on its own: nothing explains the missing file then.
            return null;
        }
    }
}
