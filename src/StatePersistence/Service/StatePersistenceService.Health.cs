using System.Diagnostics.Metrics;
using StatePersistence.Commit;
using StatePersistence.Diagnostics;
using StatePersistence.Model;
using StatePersistence.Storage;

namespace StatePersistence;

public sealed partial class StatePersistenceService
{
    private static readonly TimeSpan InstrumentRefresh = TimeSpan.FromSeconds(10);
    private DateTimeOffset _storeHealthTime;

    /// <inheritdoc />
    public StateMetrics GetMetrics() => MetricsCalculator.Compute(Committer.Durable.Tasks.Values);

    /// <inheritdoc />
    public StateHealth CheckHealth(long lowDiskSpaceBytes = 100L * 1024 * 1024)
    {
        StoreHealth store = RefreshStoreHealth();
        var reasons = new List<string>();
        StateHealthStatus status = StateHealthStatus.Healthy;
        if (!store.Exists || !store.Writable)
        {
            status = StateHealthStatus.Unhealthy;
            reasons.Add(store.Problem ?? "The state location is not writable.");
        }

        if (_lastSaveFailed && _lastError is { } error)
        {
            status = StateHealthStatus.Unhealthy;
            reasons.Add("The last save failed: " + error.Message);
        }

        if (store.FreeBytes is { } free && free < lowDiskSpaceBytes)
        {
            status = Max(status, StateHealthStatus.Degraded);
            reasons.Add($"Only {free} bytes are free on the state volume (threshold {lowDiskSpaceBytes}).");
        }

        if (LastRecovery is { CorruptionDetected: true } recovery)
        {
            status = Max(status, StateHealthStatus.Degraded);
            reasons.Add($"Start-up recovery found corruption: {recovery.Quarantined.Count} file(s) moved aside, {recovery.Lost.Count} loss(es) reported; see recovery-report.json.");
            reasons.AddRange(recovery.DroppedJournalBytes.Where(d => d.Damage)
                .Select(d => $"Journal bytes {d.Offset}..{d.Offset + d.Length - 1} of '{d.Path}' were damaged and skipped: {d.Reason}."));
        }

        if (Volatile.Read(ref _quarantinedWhileRunning) is > 0 and int found)
        {
            status = Max(status, StateHealthStatus.Degraded);
            reasons.Add($"{found} damaged file(s) found since start-up (by the scrub or on read) were moved aside; item files are rewritten from the state at the next checkpoint.");
        }

        StateView view = Committer.Durable;
        DateTimeOffset now = _time.GetUtcNow();
        DateTimeOffset? lastSaved = _lastSaved ?? LastRecovery?.SnapshotSavedAt;
        return new StateHealth
        {
            Status = status,
            Reasons = reasons,
            StatePath = store.Location,
            StateDirExists = store.Exists,
            Writable = store.Writable,
            DiskSpace = store.FreeBytes,
            LastSaveTime = lastSaved,
            LastSaveAge = lastSaved is { } saved ? now - saved : null,
            BackupCount = store.BackupCount,
            LastError = _lastError?.Message,
            LastErrorTime = _lastError?.Time,
            CorruptionDetected = (LastRecovery?.CorruptionDetected ?? false) || Volatile.Read(ref _quarantinedWhileRunning) > 0,
            Revision = view.Revision,
            TaskCount = view.Tasks.Count,
            SessionCount = view.Sessions.Count,
            FileCounts = store.FileCounts,
        };
    }

    private static StateHealthStatus Max(StateHealthStatus a, StateHealthStatus b) => a > b ? a : b;

    private StoreHealth RefreshStoreHealth()
    {
        StoreHealth health = _store.CheckHealth();
        _lastStoreHealth = health;
        _storeHealthTime = _time.GetUtcNow();
        return health;
    }

    private InstrumentSnapshot ObserveInstruments()
    {
        StoreHealth? store = _lastStoreHealth;
        if (store is null || _time.GetUtcNow() - _storeHealthTime > InstrumentRefresh)
        {
            store = RefreshStoreHealth();
        }

        StateView view = _committer?.Durable ?? StateView.Empty;
        long itemBytes = view.Tasks.Values.Sum(i => (long)i.Json.Length) + view.Sessions.Values.Sum(i => (long)i.Json.Length);
        return new InstrumentSnapshot
        {
            BytesOnDisk = (store.BytesOnDisk ?? 0) + itemBytes,
            FileCounts = store.FileCounts.Select(c => new Measurement<long>(c.Value, StateInstruments.Kind(c.Key))).ToList(),
            ItemCounts =
            [
                new Measurement<long>(view.Tasks.Count, StateInstruments.Kind("tasks")),
                new Measurement<long>(view.Sessions.Count, StateInstruments.Kind("sessions")),
            ],
        };
    }
}
