using Microsoft.Extensions.Logging;

namespace StatePersistence.Diagnostics;

/// <summary>
/// Log messages (source-generated). Nothing here logs task content: ids, paths, counts and causes only, so
/// Information and above are safe to ship.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "State loaded from {Source} in {Location}: revision {Revision}, {Tasks} tasks, {Sessions} sessions, {Replayed} journal records replayed in {ElapsedMs:F1} ms")]
    public static partial void StateLoaded(ILogger logger, string source, string location, long revision, int tasks, int sessions, long replayed, double elapsedMs);

    [LoggerMessage(2, LogLevel.Warning, "Recovery warning for {Location}: {Warning}")]
    public static partial void RecoveryWarning(ILogger logger, string location, string warning);

    [LoggerMessage(12, LogLevel.Warning, "Checkpoints in {Location} rename state.json to its backup instead of linking it ({Reason}): until its successor is renamed into place there is no state.json; readers beside the server wait that out, and a crash there makes start-up rebuild the state from the task and session files and the journal")]
    public static partial void BackupLinkUnsupported(ILogger logger, string location, string reason);

    [LoggerMessage(11, LogLevel.Information, "First start in {Location}: {Message}")]
    public static partial void FreshStart(ILogger logger, string location, string message);

    [LoggerMessage(3, LogLevel.Error, "Corrupt file {Path} moved aside to {QuarantinePath}: {Reason}")]
    public static partial void Quarantined(ILogger logger, string path, string quarantinePath, string reason);

    [LoggerMessage(91, LogLevel.Error, "Corrupt {Path} found and left as it is (the store has no aside, e.g. a database row): {Reason}")]
    public static partial void DamagedInPlace(ILogger logger, string path, string reason);

    [LoggerMessage(4, LogLevel.Error, "Recovery of {Location} could not recover everything: {Lost}")]
    public static partial void RecoveryLoss(ILogger logger, string location, string lost);

    [LoggerMessage(5, LogLevel.Error, "Saving failed ({Operation}) at {Path}")]
    public static partial void SaveFailed(ILogger logger, Exception error, string operation, string? path);

    [LoggerMessage(72, LogLevel.Warning, "Closing {Location}: recording in {Path} that the newest journal segment holds nothing failed ({Reason}); nothing is lost, but if that segment goes missing the next start reports the records after the last snapshot as possibly lost")]
    public static partial void JournalHeadNotClosed(ILogger logger, string location, string path, string reason);

    [LoggerMessage(71, LogLevel.Warning, "Retention is configured ({Policy}) but the store {Location} keeps its session logs, reports and tasks where the retention pass does not reach: nothing is rotated, expired or archived")]
    public static partial void RetentionNotApplied(ILogger logger, string policy, string location);

    [LoggerMessage(74, LogLevel.Debug, "Retention in {Location}: this pass was left to another instance of the shared store, which began one less than {Interval} ago")]
    public static partial void RetentionPassSkipped(ILogger logger, string location, TimeSpan interval);

    [LoggerMessage(75, LogLevel.Information, "Task archive run or restore in {Location}: the archive lock is held by {Holder}; this one waits for it to end, then decides on the state it left")]
    public static partial void ArchiveTurnAwaited(ILogger logger, string location, string holder);

    [LoggerMessage(76, LogLevel.Information, "Task archive run or restore in {Location}: had the archive lock after waiting {WaitedSeconds:F1} s")]
    public static partial void ArchiveTurnTaken(ILogger logger, string location, double waitedSeconds);

    [LoggerMessage(86, LogLevel.Warning, "Task archive run in {Location}: the archive {Archive} is damaged (it does not read back whole), so {Outcome}, and the archive was left as it is: {Problem}")]
    public static partial void ArchiveLeftoversKept(ILogger logger, string location, string archive, string outcome, string problem);

    [LoggerMessage(77, LogLevel.Warning, "A session was deleted but its log was kept: the store {Location} cannot delete session logs ({Reason}). A new session with the same id would continue the old log; this is said once")]
    public static partial void SessionLogsKept(ILogger logger, string location, string reason);

    [LoggerMessage(73, LogLevel.Warning, "Retention's TaskArchiveAfter={TaskArchiveAfter} is configured but the store {Location} keeps no task archives (it is not an ITaskArchiveStore, as the file store and PostgreSQL are): finished tasks stay live; session logs and reports are trimmed as configured")]
    public static partial void TaskArchiveNotApplied(ILogger logger, TimeSpan taskArchiveAfter, string location);

    [LoggerMessage(80, LogLevel.Information, "The changes committed since the last checkpoint attempt hold {Bytes} bytes ({Unfolded} since the last successful one; the threshold is {Threshold}: CheckpointAfterBytes, or the last snapshot's size when larger): checkpointing now, before the autosave timer")]
    public static partial void CheckpointByJournalSize(ILogger logger, long bytes, long unfolded, long threshold);

    [LoggerMessage(70, LogLevel.Error, "Saving failed ({Operation}) at {Path} again: {Reason} ({Repeats} repeat(s) since it was logged with its stack trace at {LoggedAt:O})")]
    public static partial void SaveFailedAgain(ILogger logger, string operation, string? path, string reason, int repeats, DateTimeOffset loggedAt);

    [LoggerMessage(81, LogLevel.Debug, "Saving failed ({Operation}) at {Path} again: {Reason} (repeat {Repeats}; an Error line counts the repeats every 10 s)")]
    public static partial void SaveFailedRepeat(ILogger logger, string operation, string? path, string reason, int repeats);

    [LoggerMessage(83, LogLevel.Error, "Reading the change feed failed ({Operation}) at {Location}")]
    public static partial void FeedReadFailed(ILogger logger, Exception error, string operation, string? location);

    [LoggerMessage(84, LogLevel.Error, "Reading the change feed failed ({Operation}) at {Location} again: {Reason} ({Repeats} repeat(s) since it was logged with its stack trace at {LoggedAt:O})")]
    public static partial void FeedReadFailedAgain(ILogger logger, string operation, string? location, string reason, int repeats, DateTimeOffset loggedAt);

    [LoggerMessage(85, LogLevel.Debug, "Reading the change feed failed ({Operation}) at {Location} again: {Reason} (repeat {Repeats}; an Error line counts the repeats every 10 s)")]
    public static partial void FeedReadFailedRepeat(ILogger logger, string operation, string? location, string reason, int repeats);

    [LoggerMessage(6, LogLevel.Debug, "Snapshot written to {Location}: revision {Revision}, {Bytes} bytes ({Details}), in {ElapsedMs:F1} ms")]
    public static partial void SnapshotWritten(ILogger logger, string location, long revision, long bytes, string details, double elapsedMs);

    [LoggerMessage(7, LogLevel.Error, "An event handler for {Event} threw; persistence goes on")]
    public static partial void HandlerFailed(ILogger logger, Exception error, string @event);

    [LoggerMessage(8, LogLevel.Debug, "Autosave triggered at revision {Revision}")]
    public static partial void AutosaveTriggered(ILogger logger, long revision);

    [LoggerMessage(9, LogLevel.Information, "Final snapshot written on shutdown at revision {Revision}")]
    public static partial void ShutdownSaved(ILogger logger, long revision);

    [LoggerMessage(88, LogLevel.Information, "Shutting down {Location}: waiting for {Saves} save(s) accepted before the shutdown to be written, before the final snapshot")]
    public static partial void ShutdownWaitsForSaves(ILogger logger, string location, long saves);

    [LoggerMessage(10, LogLevel.Debug, "Saved {Kind} {Id} at revision {Revision}")]
    public static partial void ItemSaved(ILogger logger, string kind, string id, long revision);

    [LoggerMessage(53, LogLevel.Debug, "Applied {Count} change(s) another writer committed to {Location} at revision {Revision} (position {Position})")]
    public static partial void RemoteChangesApplied(ILogger logger, int count, string location, long revision, long position);

    [LoggerMessage(41, LogLevel.Error, "{Path} could not be moved aside ({Reason}); it was left in place, unused and not deleted")]
    public static partial void KeepAsideFailed(ILogger logger, Exception error, string path, string reason);

    [LoggerMessage(42, LogLevel.Warning, "Scrub of {Location}: {Quarantined} item file(s) moved aside and {Missing} missing; they are rewritten from the state at the next checkpoint")]
    public static partial void ScrubFound(ILogger logger, string location, int quarantined, int missing);

    [LoggerMessage(43, LogLevel.Information, "Re-encryption of {Location} started: {Remaining} file(s) hold payloads not sealed with the active key {KeyId}")]
    public static partial void ReencryptionStarted(ILogger logger, string location, string keyId, long remaining);

    [LoggerMessage(55, LogLevel.Information, "Re-encryption of {Location} started: no key is active, and {Remaining} file(s) hold sealed payloads, which are rewritten in the clear")]
    public static partial void DecryptionStarted(ILogger logger, string location, long remaining);

    [LoggerMessage(56, LogLevel.Information, "Re-encryption of {Location} finished: no key is active, and every payload is stored in the clear ({Rewritten} file(s) rewritten)")]
    public static partial void DecryptionFinished(ILogger logger, string location, long rewritten);

    [LoggerMessage(52, LogLevel.Error, "Re-encryption of {Location}: {Path} is damaged and was left as it is (not re-encrypted, not moved, not deleted): {Problem}")]
    public static partial void ReencryptionFoundDamage(ILogger logger, string location, string path, string problem);

    [LoggerMessage(44, LogLevel.Information, "Re-encryption of {Location} finished: every payload is sealed with the active key {KeyId} ({Rewritten} file(s) rewritten)")]
    public static partial void ReencryptionFinished(ILogger logger, string location, string keyId, long rewritten);

    [LoggerMessage(45, LogLevel.Information, "{Location}: new payloads are now sealed with the key {KeyId}")]
    public static partial void EncryptionKeyActivatedInService(ILogger logger, string location, string keyId);

    [LoggerMessage(46, LogLevel.Information, "Retention in {Location}: the session log of {SessionId} ({LogBytes} bytes) was {Mode}; {BytesFreed} bytes freed")]
    public static partial void RetentionSessionLogCapped(ILogger logger, string location, string sessionId, long logBytes, string mode, long bytesFreed);

    [LoggerMessage(47, LogLevel.Information, "Retention in {Location}: the report {ReportId} expired and was deleted; {BytesFreed} bytes freed")]
    public static partial void RetentionReportExpired(ILogger logger, string location, string reportId, long bytesFreed);

    [LoggerMessage(89, LogLevel.Information, "Retention in {Location}: kept live, not removed, as the live copy is not what the archive that took it holds (written to while the archive ran, or since a run cut short left it, or its id used again): {Items}")]
    public static partial void RetentionKeptLiveChanged(ILogger logger, string location, string items);

    [LoggerMessage(90, LogLevel.Warning, "Retention in {Location}: kept live, not removed, as the copy the archive that took it holds could not be opened here to compare: {Items}")]
    public static partial void RetentionKeptLiveUnopened(ILogger logger, string location, string items);

    [LoggerMessage(51, LogLevel.Information, "Retention in {Location}: {Tasks} finished tasks ({Logs} session logs, {Reports} reports) moved into the archive {Archive}")]
    public static partial void RetentionTasksArchived(ILogger logger, string location, int tasks, int logs, int reports, string archive);

    [LoggerMessage(48, LogLevel.Information, "{Location}: the key {KeyId} was added to the key ring ({State})")]
    public static partial void EncryptionKeyAddedInService(ILogger logger, string location, string keyId, string state);

    [LoggerMessage(49, LogLevel.Information, "{Location}: the key {KeyId} is now {State} in the key ring")]
    public static partial void EncryptionKeyStateChangedInService(ILogger logger, string location, string keyId, string state);

    [LoggerMessage(54, LogLevel.Error, "{Location}: the key file {KeyFile} no longer holds the key {KeyId}, but payloads may be sealed with it; it is kept in memory (retired) so they still open, and the re-encryption rewrites them under the active key. A restart would lose the key: restart only once 'statectl keys list' shows no payloads under it")]
    public static partial void EncryptionKeyKeptInMemory(ILogger logger, string location, string keyFile, string keyId);

    [LoggerMessage(50, LogLevel.Information, "{Location}: the key {KeyId} was removed from the key ring")]
    public static partial void EncryptionKeyRemovedInService(ILogger logger, string location, string keyId);

    [LoggerMessage(57, LogLevel.Warning, "Checkpoint of {Directory}: no file descriptor was left after {Opened} item file(s) were opened ({Error}); it goes on in batches of {BatchSize}, each with a disk flush of its own. Raise the process's open-file limit (ulimit -n, LimitNOFILE) for full batches")]
    public static partial void CheckpointOutOfDescriptors(ILogger logger, string directory, int opened, int batchSize, string error);

    [LoggerMessage(58, LogLevel.Error, "{Path} cannot be read and was left as it is (not moved, rewritten or deleted): {Reason}")]
    public static partial void Unreadable(ILogger logger, string path, string reason);

    [LoggerMessage(87, LogLevel.Error, "Re-encryption of {Location}: {Path} cannot be opened and was left as it is, under its key (not moved, rewritten or deleted); the other files go on, this one stays counted as remaining and health stays Degraded until it opens or is moved away: {Reason}")]
    public static partial void ReencryptionLeftUnreadable(ILogger logger, string location, string path, string reason);

    [LoggerMessage(82, LogLevel.Error, "Scrub of {Location}: {Count} item file(s) could not be read and were left as they are (not moved aside, rewritten or deleted): the file system refused the read, which says nothing about their content, and health stays Degraded until a pass reads them. Check their owner and permissions, and the disk (dmesg). The first: {Path} ({OsError})")]
    public static partial void ScrubCouldNotRead(ILogger logger, string location, int count, string path, string osError);

    [LoggerMessage(59, LogLevel.Error, "Scrub of {Location}: {Count} item file(s) cannot be read for lack of the right key or codec and were left as they are (not moved, rewritten or deleted); health stays Degraded until they open. The first: {Reason}")]
    public static partial void ScrubFoundUnreadable(ILogger logger, string location, int count, string reason);
}
