using StatePersistence.FileStore;
using StatePersistence.Recovery;

namespace StatePersistence.Cli.Infrastructure;

/// <summary>
/// Opens the state directory for a modifying command the way the server does: its writer lock (a held lock is
/// <c>StateDirectoryLockedException</c> naming the holder, exit 1) and start-up recovery. No autosave or scrub runs
/// in the command's few seconds; disposing writes the final snapshot and releases the lock. What the recovery moved
/// aside or lost is printed as warnings on standard error.
/// </summary>
internal static class WriterSession
{
    public static async Task<StatePersistenceService> OpenAsync(CommandContext context, CancellationToken cancellationToken)
    {
        StatePersistenceService service = await FileStatePersistence.OpenAsync(Options(context), cancellationToken: cancellationToken).ConfigureAwait(false);
        WarnAboutRecovery(context, service.LastRecovery);
        return service;
    }

    /// <summary>
    /// What the start-up recovery of this open moved aside, lost or cut off as damage, one warning line each on standard
    /// error: the command's own result (an archive, "nothing to archive", a restore) says nothing of it, and an operator
    /// must learn that a file was moved aside, and where, from the command that did it, not from the next 'health'.
    /// </summary>
    private static void WarnAboutRecovery(CommandContext context, RecoveryReport? report)
    {
        if (report is null)
        {
            return;
        }

        foreach (QuarantinedFile file in report.Quarantined)
        {
            context.Error.WriteLine($"statectl: warning: opening the directory, start-up recovery moved '{file.OriginalPath}' aside as '{file.QuarantinePath}': {file.Reason}");
        }

        WarnAboutLosses(context, report, "opening the directory, start-up recovery");
    }

    /// <summary>
    /// What a recovery could not recover and the bytes it dropped as damage, one <c>statectl: warning:</c> line each on
    /// standard error, the line saying which step found it (<paramref name="by"/>): acknowledged writes may be among them,
    /// and a command's own success line says nothing of them.
    /// </summary>
    public static void WarnAboutLosses(CommandContext context, RecoveryReport report, string by)
    {
        foreach (string lost in report.Lost)
        {
            context.Error.WriteLine($"statectl: warning: {by} could not recover: {lost}");
        }

        foreach (DroppedByteRange range in report.DroppedJournalBytes.Concat(report.DroppedSessionLogBytes).Where(r => r.Damage))
        {
            context.Error.WriteLine($"statectl: warning: {by} dropped {Bytes(range)} of '{range.Path}' as damaged: {range.Reason}"
                + (range.KeptAs is { } kept ? $" (kept as '{kept}')" : ""));
        }
    }

    /// <summary>
    /// A range as verify, the recovery report and the reason of a file moved aside write it, both ends included
    /// (<c>bytes 10..41</c>): before 2026-12-07 this line ended it one byte later, so one damage read as two ranges.
    /// </summary>
    private static string Bytes(DroppedByteRange range) =>
        range.Length > 0 ? $"bytes {range.Offset}..{range.Offset + range.Length - 1}" : $"0 bytes (at offset {range.Offset})";

    /// <summary>
    /// The options a command opens an existing directory with (<see cref="CommandContext.StoreOptions"/>); a missing
    /// directory, one with no sign of a state directory, or one whose state another user owns (the files written would
    /// be this user's, which the server could not read) is refused before anything is created in it.
    /// </summary>
    public static StatePersistenceOptions Options(CommandContext context)
    {
        StateDirectoryRequirement.Require(context.StatePath);
        StateDirectoryOwner.RequireSameUser(context.StatePath);
        return context.StoreOptions();
    }
}
