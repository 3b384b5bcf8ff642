using Microsoft.Extensions.Logging;
using StatePersistence.Diagnostics;
using StatePersistence.Encryption;
using StatePersistence.Events;
using StatePersistence.Recovery;
using StatePersistence.Service.Health;

namespace StatePersistence.Service.Events;

/// <summary>
/// Raises the service's events, logs what they report and counts it. Each handler runs on its own, so one that
/// throws neither stops the others nor the save that raised the event. Saves and failures are also recorded in
/// <see cref="HealthTracker"/>, so the health check and the events never disagree. What readers of
/// <see cref="IStatePersistence.ReadEventsAsync"/> see of them goes to <see cref="StateEventLog"/> (item changes come
/// from the store's feed instead).
/// </summary>
internal sealed partial class EventDispatcher(object sender, string location, ILogger logger, StateInstruments instruments, HealthTracker health,
    StateEventLog log, TimeProvider time)
{
    private readonly RepeatedFailures _repeated = new(time);
    private int _sessionLogsKeptReported;

    public event EventHandler<StateSavedEventArgs>? StateSaved;

    public event EventHandler<StateLoadedEventArgs>? StateLoaded;

    public event EventHandler<StateSaveErrorEventArgs>? StateSaveError;

    public event EventHandler<AutosaveTriggeredEventArgs>? AutosaveTriggered;

    public event EventHandler<ShutdownSaveEventArgs>? ShutdownSaved;

    public event EventHandler<CorruptionDetectedEventArgs>? CorruptionDetected;

    public event EventHandler<StateRecoveredEventArgs>? StateRecovered;

    public event EventHandler<RemoteChangesAppliedEventArgs>? RemoteChangesApplied;

    /// <summary>
    /// A durable save; <paramref name="id"/> names the report or session of a report or log save. <paramref name="finished"/>
    /// is when the store answered (<see cref="Commit.OutcomeOrder"/>), when that was before this report; null for now.
    /// </summary>
    public void Saved(string what, string path, long revision, TimeSpan duration, string? id = null, long? finished = null)
    {
        health.RecordSave(finished ?? Commit.OutcomeOrder.Next());
        string? type = what switch
        {
            "snapshot" => StateEventTypes.StateSaved,
            "report" => StateEventTypes.ReportSaved,
            "log" => StateEventTypes.SessionLog,
            _ => null,
        };
        if (type is not null)
        {
            log.Notify(type, id, revision);
        }

        instruments.SaveDuration.Record(duration.TotalSeconds, StateInstruments.Kind(what));
        Raise(StateSaved, new StateSavedEventArgs(what, path, revision, duration), nameof(StateSaved));
    }

    /// <summary>A retention policy is configured but the store keeps its logs and reports where the pass does not reach.</summary>
    public void RetentionNotApplied(string policy) => Log.RetentionNotApplied(logger, policy, location);

    /// <summary>Another instance of a shared store ran the retention pass less than an interval ago: logged at Debug.</summary>
    public void RetentionPassSkipped(TimeSpan interval) => Log.RetentionPassSkipped(logger, location, interval);

    /// <summary>
    /// A session's log was deleted: a durable write that succeeded, so a health made Unhealthy by the deletion that
    /// failed before it recovers; raised as <c>session:log-deleted</c> when <paramref name="announce"/>, so a reader
    /// tailing it starts again.
    /// </summary>
    public void SessionLogDeleted(string sessionId, bool announce)
    {
        health.RecordSave(Commit.OutcomeOrder.Next());
        if (announce)
        {
            log.Notify(StateEventTypes.SessionLogDeleted, sessionId);
        }
    }

    /// <summary>A session was deleted on a store that cannot delete session logs: its log was kept. Logged once per service.</summary>
    public void SessionLogsKept(string reason)
    {
        if (Interlocked.Exchange(ref _sessionLogsKeptReported, 1) == 0)
        {
            Log.SessionLogsKept(logger, location, reason);
        }
    }

    /// <summary>The retention policy archives tasks, which this store cannot: logged once at start.</summary>
    public void TaskArchiveNotApplied(TimeSpan taskArchiveAfter) => Log.TaskArchiveNotApplied(logger, taskArchiveAfter, location);

    /// <summary>The retention policy capped a session log: logged, counted, and raised as <c>retention:session-log-rotated</c>.</summary>
    public void SessionLogCapped(Retention.SessionLogTrim trim)
    {
        string mode = trim.Rotated ? "rotated" : "dropped_oldest";
        Log.RetentionSessionLogCapped(logger, location, trim.SessionId, trim.LogBytes, trim.Rotated ? "rotated into part 1" : "cut to its newest appends", trim.BytesFreed);
        instruments.RetentionSessionLogsCapped.Add(1, new KeyValuePair<string, object?>("mode", mode));
        instruments.RetentionBytesFreed.Add(trim.BytesFreed, StateInstruments.Kind("session_log"));
        log.Notify(StateEventTypes.RetentionSessionLogRotated, id: trim.SessionId);
    }

    /// <summary>The retention policy deleted a report: logged, counted, and raised as <c>retention:report-expired</c>.</summary>
    public void ReportExpired(string reportId, long bytesFreed)
    {
        Log.RetentionReportExpired(logger, location, reportId, bytesFreed);
        instruments.RetentionReportsExpired.Add(1);
        instruments.RetentionBytesFreed.Add(bytesFreed, StateInstruments.Kind("report"));
        log.Notify(StateEventTypes.RetentionReportExpired, id: reportId);
    }

    /// <summary>The retention policy archived finished tasks: logged, counted, and raised as <c>retention:tasks-archived</c>.</summary>
    public void TasksArchived(FileStore.Operations.TaskArchiveResult result)
    {
        // A run that only finished an interrupted one wrote nothing new: its tasks are in the earlier archive.
        string archive = Path.GetFileName(result.Archive ?? result.EarlierArchives[0]);
        Log.RetentionTasksArchived(logger, location, result.Tasks.Count, result.Logs, result.Reports, archive);
        instruments.RetentionTasksArchived.Add(result.Tasks.Count);
        log.Notify(StateEventTypes.RetentionTasksArchived, id: archive);
    }

    /// <summary>
    /// Session logs and reports the retention pass's archive step kept live (<see cref="FileStore.Operations.TaskArchiveResult.LeftLive"/>,
    /// or <see cref="FileStore.Operations.TaskArchiveResult.LeftLiveUnopened"/> when <paramref name="unopened"/>): logged
    /// with why and counted, so that an operator finds why a log or report the archive holds is still live.
    /// </summary>
    public void RetentionKeptLive(IReadOnlyList<string> items, bool unopened)
    {
        string named = string.Join(", ", items);
        if (unopened)
        {
            Log.RetentionKeptLiveUnopened(logger, location, named);
        }
        else
        {
            Log.RetentionKeptLiveChanged(logger, location, named);
        }

        instruments.RetentionKeptLive.Add(items.Count, new KeyValuePair<string, object?>("reason", unopened ? "unopened" : "changed"));
    }

    /// <summary>An archive run or restore found the store's archive lock held and waits its turn: logged with the holder.</summary>
    public void ArchiveTurnAwaited(string holder) => Log.ArchiveTurnAwaited(logger, location, holder);

    /// <summary>An archive run or restore that waited got its turn.</summary>
    public void ArchiveTurnTaken(TimeSpan waited) => Log.ArchiveTurnTaken(logger, location, waited.TotalSeconds);

    /// <summary>The audit of a key change seen by the running service: key ids only, never key material.</summary>
    public void KeyActivated(string keyId)
    {
        Log.EncryptionKeyActivatedInService(logger, location, keyId);
        log.Notify(StateEventTypes.EncryptionKeyActivated, id: keyId);
    }

    /// <summary>A key the running service's ring did not hold before: key id and state only.</summary>
    public void KeyAdded(string keyId, EncryptionKeyState state)
    {
        Log.EncryptionKeyAddedInService(logger, location, keyId, EncryptionKeyFile.StateName(state));
        log.Notify(StateEventTypes.EncryptionKeyAdded, id: keyId);
    }

    /// <summary>A key of the ring retired or revoked (an activation is <see cref="KeyActivated"/>).</summary>
    public void KeyStateChanged(string keyId, EncryptionKeyState state)
    {
        Log.EncryptionKeyStateChangedInService(logger, location, keyId, EncryptionKeyFile.StateName(state));
        log.Notify(state == EncryptionKeyState.Revoked ? StateEventTypes.EncryptionKeyRevoked : StateEventTypes.EncryptionKeyRetired, id: keyId);
    }

    public void KeyRemoved(string keyId)
    {
        Log.EncryptionKeyRemovedInService(logger, location, keyId);
        log.Notify(StateEventTypes.EncryptionKeyRemoved, id: keyId);
    }

    /// <summary>A key the key file lost while payloads may be sealed with it, kept in memory: logged at Error and counted once.</summary>
    public void KeyKeptInMemory(string keyId, string keyFile)
    {
        Log.EncryptionKeyKeptInMemory(logger, location, keyFile, keyId);
        instruments.EncryptionKeysKept.Add(1, new KeyValuePair<string, object?>("key_id", keyId));
    }

    /// <summary>The re-encryption began; <paramref name="keyId"/> null when it rewrites sealed payloads in the clear.</summary>
    public void ReencryptionStarted(string? keyId, long remaining)
    {
        if (keyId is null)
        {
            Log.DecryptionStarted(logger, location, remaining);
        }
        else
        {
            Log.ReencryptionStarted(logger, location, keyId, remaining);
        }

        log.Notify(StateEventTypes.ReencryptionStarted, id: keyId);
    }

    public void ReencryptionFinished(string? keyId, long rewritten)
    {
        if (keyId is null)
        {
            Log.DecryptionFinished(logger, location, rewritten);
        }
        else
        {
            Log.ReencryptionFinished(logger, location, keyId, rewritten);
        }

        log.Notify(StateEventTypes.ReencryptionFinished, id: keyId);
    }

    /// <summary>A file the re-encryption could not read back whole (a task archive), left exactly as it is: logged and counted once.</summary>
    public void ReencryptionFoundDamage(string path, string problem)
    {
        Log.ReencryptionFoundDamage(logger, location, path, problem);
        instruments.ReencryptionDamaged.Add(1);
    }

    public void AutosaveStarting(long revision)
    {
        Log.AutosaveTriggered(logger, revision);
        log.Notify(StateEventTypes.AutosaveTriggered, revision: revision);
        Raise(AutosaveTriggered, new AutosaveTriggeredEventArgs(revision), nameof(AutosaveTriggered));
    }

    /// <summary>The shutdown waits for <paramref name="saves"/> accepted before it to be written, before its final snapshot.</summary>
    public void ShutdownWaitsForSaves(long saves) => Log.ShutdownWaitsForSaves(logger, location, saves);

    public void ShutdownSnapshot(long revision, Exception? error) =>
        Raise(ShutdownSaved, new ShutdownSaveEventArgs(revision, error), nameof(ShutdownSaved));

    /// <summary>Damage the store found and moved aside while running (by the scrub or on read).</summary>
    /// <remarks>
    /// Damage the store left in place (<see cref="QuarantinedFile.LeftInPlace"/>: a database row) is logged as such,
    /// counted, raised and sets health's <see cref="StateHealth.CorruptionDetected"/>, but is not counted in health as
    /// moved aside: the store lists it as unreadable until it is replaced or deleted.
    /// </remarks>
    public void QuarantinedWhileRunning(QuarantinedFile file)
    {
        if (file.LeftInPlace)
        {
            Log.DamagedInPlace(logger, file.OriginalPath, file.Reason);
            instruments.Corruptions.Add(1);
            health.RecordDamagedInPlaceWhileRunning();
            Raise(CorruptionDetected, new CorruptionDetectedEventArgs(file), nameof(CorruptionDetected));
            return;
        }

        health.RecordQuarantinedWhileRunning();
        Quarantined(file);
    }

    public void RecoveryFinished(RecoveryReport report, TimeSpan elapsed)
    {
        // A first start (nothing on disk, nothing lost) is expected, not a warning to act on.
        bool freshStart = report.SnapshotSource == "none" && report.TasksLoaded == 0 && report.SessionsLoaded == 0
            && report.JournalRecordsReplayed == 0 && !report.CorruptionDetected;
        foreach (string warning in report.Warnings)
        {
            if (freshStart)
            {
                Log.FreshStart(logger, location, warning);
            }
            else
            {
                Log.RecoveryWarning(logger, location, warning);
            }
        }

        foreach (QuarantinedFile file in report.Quarantined)
        {
            Quarantined(file);
        }

        foreach (string lost in report.Lost)
        {
            Log.RecoveryLoss(logger, location, lost);
        }

        Log.StateLoaded(logger, report.SnapshotSource, location, report.Revision, report.TasksLoaded, report.SessionsLoaded,
            report.JournalRecordsReplayed, elapsed.TotalMilliseconds);
        log.Notify(StateEventTypes.StateLoaded, revision: report.Revision);
        Raise(StateLoaded, new StateLoadedEventArgs(report, elapsed), nameof(StateLoaded));
        if (report.CorruptionDetected)
        {
            Raise(StateRecovered, new StateRecoveredEventArgs(report), nameof(StateRecovered));
        }
    }

    /// <summary>Changes another writer committed were applied to this instance's state.</summary>
    public void RemoteApplied(long position, long revision, IReadOnlyList<ItemChange> changes)
    {
        Log.RemoteChangesApplied(logger, changes.Count, location, revision, position);
        Raise(RemoteChangesApplied, new RemoteChangesAppliedEventArgs(position, revision, changes), nameof(RemoteChangesApplied));
    }

    private void Quarantined(QuarantinedFile file)
    {
        Log.Quarantined(logger, file.OriginalPath, file.QuarantinePath, file.Reason);
        instruments.Corruptions.Add(1);
        Raise(CorruptionDetected, new CorruptionDetectedEventArgs(file), nameof(CorruptionDetected));
    }

    private void Raise<T>(EventHandler<T>? handlers, T args, string name)
    {
        if (handlers is null)
        {
            return;
        }

        foreach (EventHandler<T> handler in handlers.GetInvocationList().Cast<EventHandler<T>>())
        {
            try
            {
                handler(sender, args);
            }
            catch (Exception ex)
            {
                Log.HandlerFailed(logger, ex, name);
                instruments.HandlerErrors.Add(1, new KeyValuePair<string, object?>("event", name));
            }
        }
    }
}
