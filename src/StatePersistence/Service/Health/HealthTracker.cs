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

    /// <summary>How long a failed save keeps the health Unhealthy when no save was tried since (see <see cref="Report"/>).</summary>
    internal static readonly TimeSpan FailedSaveUnhealthyFor = TimeSpan.FromMinutes(1);

    /// <summary>Whether the store keeps a state directory, for <see cref="StateHealth.IsStateDirectory"/>.</summary>
    private readonly bool _isStateDirectory = store is FileStore.FileStateStore;

    // The store's details with a meaning to the core (StoreHealth.Details): file counts by kind feed the files gauge.
    private const string FilesPrefix = "files_";
    private const string BackupsDetail = "files_backups";
    // A revoked key makes every file under it unreadable: health names a few, the count says how many.
    private const int MaxUnreadableNamed = 5;
    private readonly Lock _outcomes = new();
    private (string Message, DateTimeOffset Time, long Finished)? _lastError;
    private long _lastSaveFinished;
    private CheckpointFailure? _checkpointFailing;
    private int _quarantinedWhileRunning;
    private int _damagedInPlaceWhileRunning;
    private StoreHealth? _lastStoreHealth;
    private DateTimeOffset _storeHealthTime;

    public RecoveryReport? LastRecovery { get; private set; }

    /// <summary>The key file the store's payloads are sealed with, if any (for the keys it lost and that are kept in memory).</summary>
    private Encryption.KeyFileProvider? KeyFile => (store as IKeyFileUser)?.KeyFile;

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
        Volatile.Write(ref _checkpointFailing, null);
    }

    /// <summary>
    /// A checkpoint failed (it is also a failed save: <see cref="RecordFailure"/>). Kept apart from the last save's outcome
    /// until a checkpoint succeeds (<see cref="RecordSnapshot"/>), since any item save that succeeds clears that.
    /// </summary>
    public void RecordCheckpointFailure(Exception error)
    {
        DateTimeOffset now = time.GetUtcNow();
        CheckpointFailure? earlier = Volatile.Read(ref _checkpointFailing);
        Volatile.Write(ref _checkpointFailing, new CheckpointFailure(earlier?.Since ?? now, error.Message, earlier is null ? 1 : earlier.Attempts + 1));
    }

    /// <summary>
    /// A save that succeeded, the store having answered at <paramref name="finished"/> (<see cref="Commit.OutcomeOrder"/>).
    /// It clears only a failure the store answered before it: a success reported after a later save's failure (its
    /// caller's report queued behind that failure's) once cleared it, and health said Healthy while the latest save had
    /// failed (before 2026-12-07: HealthOrderOfSaveOutcomesTests).
    /// </summary>
    public void RecordSave(long finished)
    {
        lock (_outcomes)
        {
            _lastSaveFinished = Math.Max(_lastSaveFinished, finished);
        }
    }

    /// <summary>A save that failed, the store having answered at <paramref name="finished"/>; the newest by that order is the one reported.</summary>
    public void RecordFailure(Exception error, long finished)
    {
        lock (_outcomes)
        {
            if (_lastError is not { } last || finished >= last.Finished)
            {
                _lastError = (error.Message, time.GetUtcNow(), finished);
            }
        }
    }

    /// <summary>The newest failure, and whether it is newer than every success (a group answered both ways counts as failed).</summary>
    private ((string Message, DateTimeOffset Time, long Finished)? Error, bool LastSaveFailed) Outcomes()
    {
        lock (_outcomes)
        {
            return (_lastError, _lastError is { } error && error.Finished >= _lastSaveFinished);
        }
    }

    public void RecordQuarantinedWhileRunning() => Interlocked.Increment(ref _quarantinedWhileRunning);

    /// <summary>
    /// Damage the store found while running and left in place (a PostgreSQL row): it sets <see cref="StateHealth.CorruptionDetected"/>
    /// but is no moved-aside reason; the store lists the row as unreadable while it stays so.
    /// </summary>
    public void RecordDamagedInPlaceWhileRunning() => Interlocked.Increment(ref _damagedInPlaceWhileRunning);

    public StateHealth Check(StateView view, long lowDiskSpaceBytes) => Report(view, Refresh(), lowDiskSpaceBytes, shutDown: null);

    /// <summary>
    /// The health of a disposed service: Unhealthy for <paramref name="reason"/>, whatever else holds, since it saves
    /// nothing any more. Its store is not probed (a probe writes, and the directory may be another process's by now), so
    /// the store's fields are empty; the rest is what the service knew when it stopped.
    /// </summary>
    public StateHealth ShutDown(StateView view, string reason) =>
        Report(view, new StoreHealth { Location = store.Location, Exists = false, Writable = false }, 0, shutDown: reason);

    private StateHealth Report(StateView view, StoreHealth store, long lowDiskSpaceBytes, string? shutDown)
    {
        var reasons = new List<string>();
        StateHealthStatus status = StateHealthStatus.Healthy;
        if (shutDown is not null)
        {
            status = StateHealthStatus.Unhealthy;
            reasons.Add(shutDown);
        }
        else if (!store.Exists || !store.Writable)
        {
            status = StateHealthStatus.Unhealthy;
            reasons.Add(Sentence(store.Problem ?? "The state location is not writable."));
        }
        else if (store.Problem is { } problem)
        {
            // Writes still work, but something the check measures could not be (a folder refusing a listing, the free
            // space, the directory guard's check): before 2026-12-07 the status stayed Healthy with no reason.
            status = Max(status, StateHealthStatus.Degraded);
            reasons.Add(Sentence(problem));
        }

        ((string Message, DateTimeOffset Time, long Finished)? lastError, bool lastSaveFailed) = Outcomes();
        if (lastSaveFailed && lastError is { } error)
        {
            // Unhealthy while the failure is recent, or while the store's own probe fails too. Later, with the probe
            // passing, Degraded: nothing says saving works again until a save succeeds, but an instance that a load
            // balancer or readiness probe took out for a 503 here got no save to prove it, and stayed out for good
            // after a database blip (an audit's instance, five minutes after PostgreSQL came back). Degraded answers 200,
            // so the next save is tried, and fails back to Unhealthy if the cause is still there.
            bool recent = time.GetUtcNow() - error.Time < FailedSaveUnhealthyFor;
            status = recent ? StateHealthStatus.Unhealthy : Max(status, StateHealthStatus.Degraded);
            reasons.Add(Sentence("The last save failed" + (recent ? "" : $" at {error.Time:O}, and none was tried since") + ": " + error.Message));
        }

        if (Volatile.Read(ref _checkpointFailing) is { } checkpoint)
        {
            // Item saves still succeed (they go to the journal), so this is no reason for the 503 above; but each save
            // that succeeds clears the failed save, and a checkpoint failing at every autosave then went unreported
            // (Healthy, no reason) while the journal grew until the write stall refused every save: before 2026-12-07.
            status = Max(status, StateHealthStatus.Degraded);
            reasons.Add(Sentence($"Checkpoints have failed since {checkpoint.Since:O} ({checkpoint.Attempts} attempt(s)), so the journal grows until one succeeds; the last failed: {checkpoint.Message}"));
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
            // One count for every kind, so the sentence says what becomes of each: a log is not rewritten from the
            // state (its dropped bytes are only in the copy kept aside), as this said of every file before 2026-12-07.
            reasons.Add($"{found} damaged file(s) found since start-up (by the scrub, on read or by a background pass) were kept aside: "
                + "an item file is moved aside and written again from the state at the next checkpoint; a session log is copied aside and "
                + "rewritten with its valid appends, its damaged bytes dropped; a report or a backup is moved aside and no longer used.");
        }

        if (KeyFile?.Problem() is { } keyFileProblem)
        {
            // Every write that seals fails until the file is put right, whether or not one was tried since.
            status = StateHealthStatus.Unhealthy;
            reasons.Add(Sentence($"The key file cannot be used, so every write that seals a payload fails until it is put right: {keyFileProblem}"));
        }

        if (KeyFile is { KeptKeys: { Count: > 0 } kept } keyFile)
        {
            status = Max(status, StateHealthStatus.Degraded);
            reasons.AddRange(kept.Select(id =>
                $"The key file '{keyFile.Path}' no longer holds the key '{id}', but payloads may be sealed with it: it is kept in memory, and the re-encryption rewrites them under the active key. A restart would lose it: restart only once 'statectl keys list' shows no payloads under it."));
        }

        if (store.Unreadable.Count > 0)
        {
            // Nothing was moved aside, but the operator has to act: supply the key the files name, put right the
            // permissions the file system refused a read for, or (PostgreSQL rows, counted as rows) replace a damaged
            // row. Each reason says which.
            status = Max(status, StateHealthStatus.Degraded);
            reasons.Add($"{store.Unreadable.Count} stored {store.UnreadableUnit}(s) cannot be read and were left as they are (not moved aside, rewritten or deleted)"
                + (store.Unreadable.Count > MaxUnreadableNamed ? $"; the first {MaxUnreadableNamed}:" : ":"));
            reasons.AddRange(store.Unreadable.Take(MaxUnreadableNamed));
        }

        DateTimeOffset now = time.GetUtcNow();
        DateTimeOffset? lastSaved = LastSnapshot ?? LastRecovery?.SnapshotSavedAt;
        return new StateHealth
        {
            Status = status,
            Reasons = reasons,
            StatePath = store.Location,
            IsStateDirectory = _isStateDirectory,
            StateDirExists = store.Exists,
            Writable = store.Writable,
            DiskSpace = store.FreeBytes,
            LastSaveTime = lastSaved,
            LastSaveAge = lastSaved is { } saved ? now - saved : null,
            BackupCount = store.Details.TryGetValue(BackupsDetail, out long backups) ? (int)backups : 0,
            LastError = lastError?.Message,
            LastErrorTime = lastError?.Time,
            CorruptionDetected = (LastRecovery?.CorruptionDetected ?? false) || Volatile.Read(ref _quarantinedWhileRunning) > 0
                || Volatile.Read(ref _damagedInPlaceWhileRunning) > 0,
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
            UnreadableFiles = store.Unreadable.Count,
            ItemCounts =
            [
                new Measurement<long>(view.Tasks.Count, StateInstruments.Kind("tasks")),
                new Measurement<long>(view.Sessions.Count, StateInstruments.Kind("sessions")),
            ],
        };
    }

    /// <summary>
    /// A reason as a sentence of its own: the health check's description joins the reasons with a space, and an I/O
    /// error's message often ends with the path (<c>No space left on device : '/srv/state/x.tmp'</c>), which ran on
    /// into the next reason.
    /// </summary>
    private static string Sentence(string reason)
    {
        string trimmed = reason.TrimEnd();
        return trimmed.EndsWith('.') || trimmed.EndsWith('!') || trimmed.EndsWith('?') ? trimmed : trimmed + ".";
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

    /// <summary>Checkpoints failing since <paramref name="Since"/>, the last with <paramref name="Message"/>.</summary>
    private sealed record CheckpointFailure(DateTimeOffset Since, string Message, int Attempts);

    private static StateHealthStatus Max(StateHealthStatus a, StateHealthStatus b) => a > b ? a : b;

    private StoreHealth Refresh()
    {
        StoreHealth health = store.CheckHealth();
        _lastStoreHealth = health;
        _storeHealthTime = time.GetUtcNow();
        return health;
    }
}
