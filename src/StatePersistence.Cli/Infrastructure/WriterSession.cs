using StatePersistence.Errors;
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
    /// The snapshot after a command's change, written before the service is disposed, so that its failure is heard: the
    /// disposal's final snapshot only logs a failure, statectl has no log, and a change whose snapshot failed (a full
    /// disk, a folder of the directory it may not write) printed its success, exit 0, without a word (before
    /// 2026-12-07). The change itself is committed and durable in the journal whatever this finds; the line on standard
    /// error says so, and why the snapshot failed. Returns that reason (the command then exits 1), or null.
    /// </summary>
    public static async Task<string?> SnapshotAfterChangeAsync(CommandContext context, StatePersistenceService service, string change)
    {
        try
        {
            // Not cancelled by a signal: the change is done, and this is what makes the next start quick.
            await service.SaveSnapshotIfChangedAsync(CancellationToken.None).ConfigureAwait(false);
            return null;
        }
        catch (StatePersistenceException ex)
        {
            string reason = (ex.InnerException as StatePersistenceException ?? ex).Message;
            context.Error.WriteLine($"statectl: {change} took effect and is durable (journaled), but the snapshot after it failed: {reason} "
                + "Nothing is lost: the next start of the server (or any writing statectl command) writes it; fix the cause first.");
            return reason;
        }
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
