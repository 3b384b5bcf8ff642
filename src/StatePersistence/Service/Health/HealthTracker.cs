using System.Diagnostics.Metrics;
using StatePersistence.Commit;
using StatePersistence.Diagnostics;
using StatePersistence.Recovery;
using StatePersistence.Storage;

namespace StatePersistence.Service.Health;

/// <summary>
/// What the health check and the gauges report: the last save, the last error, damage found, and the store's own
/// view (probed at most every <see cref="InstrumentRefresh"/> for the gauges, so a scrape does not touch the disk).
/// </summary>
internal sealed class HealthTracker(IStateStore store, TimeProvider time)
{
    private static readonly TimeSpan InstrumentRefresh = TimeSpan.FromSeconds(10);

    // The store's details with a meaning to the core (StoreHealth.Details): file counts by kind feed the files gauge.
    private const string FilesPrefix = "files_";
    private const string BackupsDetail = "files_backups";
    private (string Message, DateTimeOffset Time)? _lastError;
    private bool _lastSaveFailed;
    private int _quarantinedWhileRunning;
    private StoreHealth? _lastStoreHealth;
    private DateTimeOffset _storeHealthTime;

    public RecoveryReport? LastRecovery { get; private set; }

    public DateTimeOffset? LastSnapshot { get; private set; }

    public void RecordRecovery(RecoveryReport report)
    {
        LastRecovery = report;
        LastSnapshot = report.SnapshotSavedAt;
    }

    public void RecordSnapshot(DateTimeOffset savedAt)
    {
        LastSnapshot = savedAt;
        _lastStoreHealth = null;
    }

    public void RecordSave() => _lastSaveFailed = false;

    public void RecordFailure(Exception error)
    {
        _lastError = (error.Message, time.GetUtcNow());
        _lastSaveFailed = true;
    }

    public void RecordQuarantinedWhileRunning() => Interlocked.Increment(ref _quarantinedWhileRunning);

    public StateHealth Check(StateView view, long lowDiskSpaceBytes)
    {
        StoreHealth store = Refresh();
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
            reasons.AddRange(recovery.DroppedJournalBytes.Where(d => d.Damage).GroupBy(d => d.Reason).Select(DamageReason));
        }

        if (Volatile.Read(ref _quarantinedWhileRunning) is > 0 and int found)
        {
            status = Max(status, StateHealthStatus.Degraded);
            reasons.Add($"{found} damaged file(s) found since start-up (by the scrub or on read) were moved aside; item files are rewritten from the state at the next checkpoint.");
        }

        DateTimeOffset now = time.GetUtcNow();
        DateTimeOffset? lastSaved = LastSnapshot ?? LastRecovery?.SnapshotSavedAt;
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
            BackupCount = store.Details.TryGetValue(BackupsDetail, out long backups) ? (int)backups : 0,
            LastError = _lastError?.Message,
            LastErrorTime = _lastError?.Time,
            CorruptionDetected = (LastRecovery?.CorruptionDetected ?? false) || Volatile.Read(ref _quarantinedWhileRunning) > 0,
            Revision = view.Revision,
            TaskCount = view.Tasks.Count,
            SessionCount = view.Sessions.Count,
            StoreDetails = store.Details,
        };
    }

    public InstrumentSnapshot Observe(StateView view)
    {
        StoreHealth? store = _lastStoreHealth;
        if (store is null || time.GetUtcNow() - _storeHealthTime > InstrumentRefresh)
        {
            store = Refresh();
        }

        long itemBytes = view.Tasks.Values.Sum(i => (long)i.Json.Length) + view.Sessions.Values.Sum(i => (long)i.Json.Length);
        return new InstrumentSnapshot
        {
            BytesOnDisk = (store.BytesOnDisk ?? 0) + itemBytes,
            FileCounts = [.. store.Details
                .Where(d => d.Key.StartsWith(FilesPrefix, StringComparison.Ordinal))
                .Select(d => new Measurement<long>(d.Value, StateInstruments.Kind(d.Key[FilesPrefix.Length..])))],
            ItemCounts =
            [
                new Measurement<long>(view.Tasks.Count, StateInstruments.Kind("tasks")),
                new Measurement<long>(view.Sessions.Count, StateInstruments.Kind("sessions")),
            ],
        };
    }

    /// <summary>
    /// One sentence per kind of journal damage, naming a few ranges: a directory with dozens of damaged segments once
    /// got a description of kilobytes, the same sentence once per file. <c>recovery-report.json</c> lists every range.
    /// </summary>
    private static string DamageReason(IGrouping<string, DroppedByteRange> ranges)
    {
        const int Named = 3;
        int count = ranges.Count();
        string named = string.Join(", ", ranges.Take(Named).Select(d => $"{ByteRangeText.Of(d.Offset, d.Length)} of '{d.Path}'"));
        string more = count > Named ? $" and {count - Named} more range(s) (recovery-report.json lists them all)" : "";
        return $"Journal {named}{more} were damaged and skipped: {ranges.Key}.";
    }

    private static StateHealthStatus Max(StateHealthStatus a, StateHealthStatus b) => a > b ? a : b;

    private StoreHealth Refresh()
    {
        StoreHealth health = store.CheckHealth();
        _lastStoreHealth = health;
        _storeHealthTime = time.GetUtcNow();
        return health;
    }
}
