using System.Diagnostics.Metrics;

namespace StatePersistence.Diagnostics;

/// <summary>
/// The instruments of the <see cref="StateMeter"/> meter. Names follow OpenTelemetry's conventions (dotted, lower
/// case, unit in the instrument's unit, not its name); durations in seconds. Internal: applications subscribe by the
/// meter's name and read <see cref="IStatePersistence.GetMetrics"/>, never these objects.
/// </summary>
internal sealed class StateInstruments : IDisposable
{
    /// <summary>
    /// Bucket bounds in seconds for the save, load and journal durations, given to every exporter as advice:
    /// they take from tens of microseconds (one fsync) to seconds (a big snapshot), where OpenTelemetry's default
    /// bounds (0 to 10,000) suit milliseconds.
    /// </summary>
    internal static readonly double[] DurationBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>
    /// Bucket bounds in seconds for the scrub's duration: one pass reads back every task and session file, from
    /// milliseconds for a few to minutes for hundreds of thousands, beyond the save buckets' 10 s.
    /// </summary>
    internal static readonly double[] ScrubBuckets = [0.001, 0.01, 0.1, 1, 10, 30, 60, 300, 1800];

    private readonly Meter _meter;
    private readonly Func<InstrumentSnapshot> _observe;

    // Set once the service is disposed. A meter from the host's IMeterFactory is the factory's: its Dispose does nothing
    // and its gauges stay registered until the container goes, so they must stop answering themselves.
    private volatile bool _disposed;

    /// <summary>The loop's own copy of the figure; <see cref="NotCounted"/> until a step has counted.</summary>
    private long _reencryptionRemaining = NotCounted;

    private const long NotCounted = -1;

    /// <summary>Creates the instruments on a meter from <paramref name="meterFactory"/>, or a standalone meter.</summary>
    public StateInstruments(IMeterFactory? meterFactory, Func<InstrumentSnapshot> observe)
    {
        _observe = observe;
        _meter = meterFactory?.Create(StateMeter.Name) ?? new Meter(StateMeter.Name);
        SaveDuration = _meter.CreateHistogram<double>("statepersistence.save.duration", "s",
            "How long durable saves take, by kind (task, session, snapshot, report, log).", advice: Buckets(DurationBuckets));
        LoadDuration = _meter.CreateHistogram<double>("statepersistence.load.duration", "s",
            "How long loading the state at start-up takes.", advice: Buckets(DurationBuckets));
        SaveFailures = _meter.CreateCounter<long>("statepersistence.save.failures", "{failure}",
            "Saves that failed, by kind.");
        Corruptions = _meter.CreateCounter<long>("statepersistence.corruption.detected", "{file}",
            "Corrupt files moved aside.");
        HandlerErrors = _meter.CreateCounter<long>("statepersistence.event_handler.errors", "{error}",
            "Exceptions thrown by application event handlers (caught so persistence keeps working).");
        Redactions = _meter.CreateCounter<long>("statepersistence.redactions", "{secret}",
            "Secrets replaced by a marker before storage, by kind (the pattern's name; never the secret).");
        CommitGroupSize = _meter.CreateHistogram<int>("statepersistence.commit.group_size", "{commit}",
            "Commits made durable by one journal append (one fsync under Full durability): how well group commit batches.",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256] });
        JournalAppendDuration = _meter.CreateHistogram<double>("statepersistence.journal.append.duration", "s",
            "How long one journal append takes, write and fsync included: the disk's share of a save.",
            advice: Buckets(DurationBuckets));
        ScrubDuration = _meter.CreateHistogram<double>("statepersistence.scrub.duration", "s",
            "How long each completed scrub of the item files takes (one per scrub, so its count says the scrubs are running).",
            advice: Buckets(ScrubBuckets));
        _meter.CreateObservableGauge("statepersistence.disk.usage", () => Observe(s => [new Measurement<long>(s.BytesOnDisk)]), "By",
            "Bytes used by the state (snapshot, backups, journal and item files).");
        _meter.CreateObservableGauge("statepersistence.files", () => Observe(s => s.FileCounts), "{file}",
            "Files in the state directory, by kind.");
        ReencryptedFiles = _meter.CreateCounter<long>("statepersistence.reencryption.files.rewritten", "{file}",
            "Files the background re-encryption rewrote under the active key, by key id.");
        ReencryptionDamaged = _meter.CreateCounter<long>("statepersistence.reencryption.files.damaged", "{file}",
            "Files the background re-encryption found damaged and left exactly as they are (a task archive that does not read back whole).");
        EncryptionKeysKept = _meter.CreateCounter<long>("statepersistence.encryption.keys.kept", "{key}",
            "Keys a reload of the key file lacked although payloads may be sealed with them, kept in memory instead of dropped, by key id.");
        _meter.CreateObservableGauge("statepersistence.reencryption.files.remaining", ObserveReencryption, "{file}",
            "Files still holding payloads under another key (or in the clear), by the active key's id.");
        RetentionSessionLogsCapped = _meter.CreateCounter<long>("statepersistence.retention.session_logs.rotated", "{log}",
            "Session logs the retention policy capped, by mode (rotated: the live log became part 1; dropped_oldest: no parts kept, its oldest appends dropped).");
        RetentionReportsExpired = _meter.CreateCounter<long>("statepersistence.retention.reports.expired", "{report}",
            "Reports the retention policy deleted for their age.");
        RetentionTasksArchived = _meter.CreateCounter<long>("statepersistence.retention.tasks.archived", "{task}",
            "Finished tasks the retention policy moved into an archive under archive/.");
        RetentionKeptLive = _meter.CreateCounter<long>("statepersistence.retention.kept_live", "{item}",
            "Session logs and reports an archive took along that the retention pass kept live, each counted once while the process runs, by reason (changed: the live copy is not what the archive holds; unopened: the archive's copy does not open here).");
        RetentionBytesFreed = _meter.CreateCounter<long>("statepersistence.retention.freed", "By",
            "Bytes the retention policy removed from disk, by kind (session_log, report).");
        _meter.CreateObservableGauge("statepersistence.items", () => Observe(s => s.ItemCounts), "{item}",
            "Tasks and sessions held, by kind.");
        _meter.CreateObservableGauge("statepersistence.unreadable.files", () => Observe(s => [new Measurement<long>(s.UnreadableFiles)]), "{file}",
            "Stored files a read or the scrub could not open for lack of the right key (missing, revoked, other key material) or codec, left as they are.");
    }

    /// <summary>Save durations.</summary>
    public Histogram<double> SaveDuration { get; }

    /// <summary>Load durations.</summary>
    public Histogram<double> LoadDuration { get; }

    /// <summary>Commits per journal append.</summary>
    public Histogram<int> CommitGroupSize { get; }

    /// <summary>Journal append (write + fsync) durations.</summary>
    public Histogram<double> JournalAppendDuration { get; }

    /// <summary>Completed scrubs of the item files, by duration.</summary>
    public Histogram<double> ScrubDuration { get; }

    /// <summary>Save failures.</summary>
    public Counter<long> SaveFailures { get; }

    /// <summary>Corrupt files found.</summary>
    public Counter<long> Corruptions { get; }

    /// <summary>Secrets redacted before storage.</summary>
    public Counter<long> Redactions { get; }

    /// <summary>Exceptions from event handlers.</summary>
    public Counter<long> HandlerErrors { get; }

    /// <summary>Files the background re-encryption rewrote, tagged <c>key_id</c> (the key they are now sealed with).</summary>
    public Counter<long> ReencryptedFiles { get; }

    /// <summary>Damaged files the background re-encryption left as they are, each counted once.</summary>
    public Counter<long> ReencryptionDamaged { get; }

    /// <summary>Keys kept in memory although the key file no longer holds them, tagged <c>key_id</c>, each counted once.</summary>
    public Counter<long> EncryptionKeysKept { get; }

    /// <summary>Session logs capped by the retention policy, tagged <c>mode</c>.</summary>
    public Counter<long> RetentionSessionLogsCapped { get; }

    /// <summary>Reports expired by the retention policy.</summary>
    public Counter<long> RetentionReportsExpired { get; }

    /// <summary>Tasks archived by the retention policy.</summary>
    public Counter<long> RetentionTasksArchived { get; }

    /// <summary>Bytes freed by the retention policy, tagged <c>kind</c>.</summary>
    public Counter<long> RetentionBytesFreed { get; }

    /// <summary>Session logs and reports an archive took along that the retention pass kept live, by reason.</summary>
    public Counter<long> RetentionKeptLive { get; }

    /// <summary>
    /// Files still under another key (or in the clear) at the last re-encryption step, tagged <c>key_id</c> (the active
    /// key); null until a step has counted them, so the gauge shows nothing rather than a 0 nobody counted.
    /// </summary>
    public long? ReencryptionRemaining
    {
        get => Interlocked.Read(ref _reencryptionRemaining) is >= 0 and var counted ? counted : null;
        set => Interlocked.Exchange(ref _reencryptionRemaining, value ?? NotCounted);
    }

    /// <summary>The active key the remaining count is for.</summary>
    public string? ReencryptionKeyId { get; set; }

    /// <summary>
    /// The store's own figure of files remaining, its health's <c>reencryption_files_remaining</c>, read at each
    /// observation so the gauge and the health agree; <see cref="ReencryptionRemaining"/> when it has none (or has not
    /// counted yet), and no measurement while neither has counted.
    /// </summary>
    public Func<long?>? ReencryptionFigure { get; set; }

    /// <inheritdoc />
    /// <summary>
    /// Stops the gauges answering (before the store is released: each observation may probe it) and disposes the meter.
    /// Before 2026-12-07 a disposed service's gauges went on answering every collection of a factory's meter, with the
    /// figures of a service that was gone, each probing the store it had released (<c>GaugesAfterDisposalTests</c>).
    /// </summary>
    public void Dispose()
    {
        _disposed = true;
        _meter.Dispose();
    }

    /// <summary>What a gauge reports: <paramref name="pick"/> of a fresh observation, or nothing once disposed.</summary>
    private IEnumerable<Measurement<long>> Observe(Func<InstrumentSnapshot, IEnumerable<Measurement<long>>> pick) =>
        _disposed ? [] : pick(_observe());

    /// <summary>
    /// The re-encryption gauge: nothing until a count exists. Before 2026-12-07 it read 0 from the first step's start
    /// until that step had counted, with every file under the old key (<c>ReencryptionRemainingBeforeTheFirstCountTests</c>).
    /// </summary>
    private IEnumerable<Measurement<long>> ObserveReencryption() =>
        !_disposed && ReencryptionKeyId is { } keyId && (ReencryptionFigure?.Invoke() ?? ReencryptionRemaining) is { } remaining
            ? [new Measurement<long>(remaining, new KeyValuePair<string, object?>("key_id", keyId))]
            : [];

    /// <summary>Recorded with a <c>kind</c> tag.</summary>
    internal static KeyValuePair<string, object?> Kind(string kind) => new("kind", kind);

    private static InstrumentAdvice<double> Buckets(double[] bounds) => new() { HistogramBucketBoundaries = bounds };
}

/// <summary>Values the observable gauges report.</summary>
internal sealed class InstrumentSnapshot
{
    /// <summary>Bytes on disk.</summary>
    public long BytesOnDisk { get; init; }

    /// <summary>File counts by kind.</summary>
    public IEnumerable<Measurement<long>> FileCounts { get; init; } = [];

    /// <summary>Item counts by kind.</summary>
    public IEnumerable<Measurement<long>> ItemCounts { get; init; } = [];

    /// <summary>Stored files the store cannot open for lack of the right key or codec.</summary>
    public long UnreadableFiles { get; init; }
}
