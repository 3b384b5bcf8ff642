using StatePersistence.Diagnostics;
using StatePersistence.Recovery;

namespace StatePersistence;

public sealed partial class StatePersistenceService
{
    /// <inheritdoc />
    public event EventHandler<StateSavedEventArgs>? StateSaved;

    /// <inheritdoc />
    public event EventHandler<StateLoadedEventArgs>? StateLoaded;

    /// <inheritdoc />
    public event EventHandler<StateSaveErrorEventArgs>? StateSaveError;

    /// <inheritdoc />
    public event EventHandler<AutosaveTriggeredEventArgs>? AutosaveTriggered;

    /// <inheritdoc />
    public event EventHandler<ShutdownSaveEventArgs>? ShutdownSaved;

    /// <inheritdoc />
    public event EventHandler<CorruptionDetectedEventArgs>? CorruptionDetected;

    /// <inheritdoc />
    public event EventHandler<StateRecoveredEventArgs>? StateRecovered;

    /// <summary>Invokes each handler on its own, so one that throws neither stops the others nor the save.</summary>
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
                handler(this, args);
            }
            catch (Exception ex)
            {
                Log.HandlerFailed(_logger, ex, name);
                _instruments.HandlerErrors.Add(1, new KeyValuePair<string, object?>("event", name));
            }
        }
    }

    private void ReportRecovery(RecoveryReport report, TimeSpan elapsed)
    {
        // A first start (nothing on disk, nothing lost) is expected, not a warning to act on.
        bool freshStart = report.SnapshotSource == "none" && report.TasksLoaded == 0 && report.SessionsLoaded == 0
            && report.JournalRecordsReplayed == 0 && !report.CorruptionDetected;
        foreach (string warning in report.Warnings)
        {
            if (freshStart)
            {
                Log.FreshStart(_logger, Location, warning);
            }
            else
            {
                Log.RecoveryWarning(_logger, Location, warning);
            }
        }

        foreach (QuarantinedFile file in report.Quarantined)
        {
            OnQuarantined(file);
        }

        foreach (string lost in report.Lost)
        {
            Log.RecoveryLoss(_logger, Location, lost);
        }

        Log.StateLoaded(_logger, report.SnapshotSource, Location, report.Revision, report.TasksLoaded, report.SessionsLoaded,
            report.JournalRecordsReplayed, elapsed.TotalMilliseconds);
        Raise(StateLoaded, new StateLoadedEventArgs(report, elapsed), nameof(StateLoaded));
        if (report.CorruptionDetected)
        {
            Raise(StateRecovered, new StateRecoveredEventArgs(report), nameof(StateRecovered));
        }
    }

    private void OnQuarantined(QuarantinedFile file)
    {
        Log.Quarantined(_logger, file.OriginalPath, file.QuarantinePath, file.Reason);
        _instruments.Corruptions.Add(1);
        Raise(CorruptionDetected, new CorruptionDetectedEventArgs(file), nameof(CorruptionDetected));
    }

    private void OnSaveFailed(string operation, string? path, Exception error)
    {
        _lastError = (error.Message, _time.GetUtcNow());
        _lastSaveFailed = true;
        Log.SaveFailed(_logger, error, operation, path);
        _instruments.SaveFailures.Add(1, StateInstruments.Kind(operation));
        Raise(StateSaveError, new StateSaveErrorEventArgs(operation, path, error), nameof(StateSaveError));
    }

    private void OnSaved(string what, string path, long revision, TimeSpan duration)
    {
        _lastSaveFailed = false;
        _instruments.SaveDuration.Record(duration.TotalSeconds, StateInstruments.Kind(what));
        Raise(StateSaved, new StateSavedEventArgs(what, path, revision, duration), nameof(StateSaved));
    }
}
