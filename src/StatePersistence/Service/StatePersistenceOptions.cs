using StatePersistence.Redaction;
using StatePersistence.Encryption;
using StatePersistence.FileSystem;
using StatePersistence.Retention;
using StatePersistence.Storage;

namespace StatePersistence;

/// <summary>Options for <see cref="StatePersistenceService"/> and the file-system store. Every default is the seed's.</summary>
public sealed class StatePersistenceOptions
{
    /// <summary>The default state directory, relative to the working directory.</summary>
    public const string DefaultStatePath = "./coding-agent-state";

    /// <summary>The environment variable that overrides the default directory.</summary>
    public const string StatePathVariable = "STATE_PATH";

    private string? _statePath;
    private Durability _durability = Durability.Full;
    private TimeSpan _autosaveInterval = TimeSpan.FromSeconds(30);
    private TimeSpan _diskUsageInterval = TimeSpan.FromSeconds(30);
    private int _maxBackups = 10;
    private long _maxBackupBytes = 1L << 30;
    private long _checkpointAfterBytes = DefaultCheckpointAfterBytes;
    private int _journalPreallocationBytes = 4 << 20;
    private TimeSpan _scrubInterval = TimeSpan.FromHours(1);
    private TimeSpan _reencryptionInterval = TimeSpan.FromSeconds(1);
    private JournalRecoveryMode _journalRecoveryMode = JournalRecoveryMode.SkipCorruptedRecords;
    private Serialization.IPayloadCodec? _payloadCodec;
    private bool _snapshotOnShutdown = true;
    private bool _autoMigrate = true;
    private int _eventHistory = 4096;
    private ConflictPolicy _conflictPolicy = ConflictPolicy.Reject;
    private Func<Model.AgentTask, Model.AgentTask, Model.AgentTask>? _mergeTask;
    private Func<Model.SessionInfo, Model.SessionInfo, Model.SessionInfo>? _mergeSession;
    private bool _frozen;
    private readonly RedactionOptions _redaction = new();

    /// <summary>The largest <see cref="EventHistory"/> accepted: the ring of events is allocated whole at start.</summary>
    public const int MaxEventHistory = 1 << 20;

    /// <summary>
    /// How many events <see cref="IStatePersistence.ReadEventsAsync"/> keeps in memory for readers that resume from a
    /// position (changes, saves, errors). A reader resuming from further back gets a <c>reset</c> event instead of a
    /// gap. Default 4,096; at least 1, at most <see cref="MaxEventHistory"/> (1,048,576).
    /// </summary>
    public int EventHistory
    {
        get => _eventHistory;
        set => _eventHistory = Unfrozen(value);
    }

    /// <summary>
    /// Whether a service has started with these options: from then on they are read-only (a setter throws), so what
    /// the running service and its store do can never drift from what they were started with.
    /// </summary>
    public bool IsFrozen => Volatile.Read(ref _frozen);

    /// <summary>
    /// The state directory. When null: <c>STATE_PATH</c> if set, else <c>./coding-agent-state</c>.
    /// An explicit value wins over both.
    /// </summary>
    public string? StatePath
    {
        get => _statePath;
        set => _statePath = Unfrozen(value);
    }

    /// <summary>When a save counts as done. Default <see cref="Storage.Durability.Full"/>.</summary>
    public Durability Durability
    {
        get => _durability;
        set => _durability = Unfrozen(value);
    }

    /// <summary>How often changed state is snapshotted to <c>state.json</c>. Default 30 s; <see cref="TimeSpan.Zero"/> turns autosave off.</summary>
    public TimeSpan AutosaveInterval
    {
        get => _autosaveInterval;
        set => _autosaveInterval = Unfrozen(value);
    }

    /// <summary>The default of <see cref="CheckpointAfterBytes"/>: 256 MiB.</summary>
    public const long DefaultCheckpointAfterBytes = 256L << 20;

    /// <summary>
    /// The largest <see cref="CheckpointAfterBytes"/> accepted: 1 TiB. The write stall counts four thresholds in longs,
    /// and a journal of more would take the next start longer to replay than any start should; from 2^61 on the count
    /// overflowed and every save was refused.
    /// </summary>
    public const long MaxCheckpointAfterBytes = 1L << 40;

    /// <summary>
    /// A checkpoint is also written, without waiting for <see cref="AutosaveInterval"/>, once the changes committed
    /// since the last one hold this many bytes of JSON, or as many as the last snapshot held when that is more (so a
    /// large state is not rewritten for every few changes). It bounds the journal, and with it the disk it takes and the
    /// time and memory the next start needs to replay it, however fast writes come or however rarely autosave runs.
    /// Raises <c>autosave:triggered</c> like the timer. Default 256 MiB, at most <see cref="MaxCheckpointAfterBytes"/>;
    /// 0 turns it off (the journal then grows until the next timed or requested checkpoint). Only for stores with
    /// checkpoints (the file store).
    /// </summary>
    public long CheckpointAfterBytes
    {
        get => _checkpointAfterBytes;
        set => _checkpointAfterBytes = Unfrozen(value);
    }

    /// <summary>How many <c>state.backup.*.json</c> files to keep. Default 10; at least 1.</summary>
    public int MaxBackups
    {
        get => _maxBackups;
        set => _maxBackups = Unfrozen(value);
    }

    /// <summary>The most bytes all backups may use together; the newest backup is kept even when larger. Default 1 GiB.</summary>
    public long MaxBackupBytes
    {
        get => _maxBackupBytes;
        set => _maxBackupBytes = Unfrozen(value);
    }

    /// <summary>
    /// How far ahead journal segments are filled with zeros before records are written into them. Appending to a
    /// file makes every fsync write its size as well; overwriting already-allocated space makes it a data-only
    /// flush, which is what lets one durable save cost about one disk flush. Default 4 MiB; 0 appends instead. Near a
    /// full disk no zeros are written ahead (and no spare segment is prepared) while they would leave less free than
    /// the next checkpoint is expected to write (about the state's size plus what was journaled since the last one):
    /// that space is what lets the checkpoint free the journal.
    /// </summary>
    public int JournalPreallocationBytes
    {
        get => _journalPreallocationBytes;
        set => _journalPreallocationBytes = Unfrozen(value);
    }

    /// <summary>
    /// How often the task and session files are read back and compared with the state in the background (the first
    /// scrub runs right after start-up); a file that does not parse or disagrees is moved aside and rewritten at the
    /// next checkpoint. Default 1 hour; <see cref="TimeSpan.Zero"/> turns the scrub off.
    /// </summary>
    public TimeSpan ScrubInterval
    {
        get => _scrubInterval;
        set => _scrubInterval = Unfrozen(value);
    }

    /// <summary>
    /// How old the file store's figures for its folders of many files (the <c>files_*</c> and <c>bytes_*</c> health
    /// figures of tasks, sessions, logs, reports and task archives, and their part of the disk usage gauge) may be before
    /// a health check measures them again, in the background: a measure asks the size of every file there (0.5-0.8 s
    /// with 100,000 tasks). The rest of a health check (the directory, a write probe, the free space, the snapshot, the
    /// backups and the journal) is current at every check. Default 30 seconds; <see cref="TimeSpan.Zero"/> measures at
    /// every check.
    /// </summary>
    public TimeSpan DiskUsageInterval
    {
        get => _diskUsageInterval;
        set => _diskUsageInterval = Unfrozen(value);
    }

    /// <summary>
    /// How often the background re-encryption checks for stored payloads not under the active key (after a rotation,
    /// or encryption turned on over clear files) and rewrites the next few of them (the first check runs right after
    /// start-up). Only with encryption on. Default 1 second; <see cref="TimeSpan.Zero"/> turns it off.
    /// </summary>
    public TimeSpan ReencryptionInterval
    {
        get => _reencryptionInterval;
        set => _reencryptionInterval = Unfrozen(value);
    }

    /// <summary>
    /// What start-up recovery does with a damaged journal. Default <see cref="JournalRecoveryMode.SkipCorruptedRecords"/>;
    /// <see cref="JournalRecoveryMode.AbsoluteConsistency"/> refuses to start instead.
    /// </summary>
    public JournalRecoveryMode JournalRecoveryMode
    {
        get => _journalRecoveryMode;
        set => _journalRecoveryMode = Unfrozen(value);
    }

    /// <summary>
    /// The codec every stored byte goes through inside the payload envelope (journal records, task and session files,
    /// snapshots and backups, session logs, reports), for example an encrypting one. Default null: the identity codec,
    /// whose files stay plain, readable JSON. Set in code (it is not read from configuration); a directory written with
    /// one codec is refused at start-up by a store configured with another, naming both.
    /// </summary>
    public Serialization.IPayloadCodec? PayloadCodec
    {
        get => _payloadCodec;
        set => _payloadCodec = Unfrozen(value);
    }

    /// <summary>
    /// Encryption at rest (<c>StatePersistence:Encryption</c>): the key file or other key source that turns on the
    /// AES-256-GCM codec for every stored byte. Off by default. A key file or key provider set beside <see cref="PayloadCodec"/> is refused (a store has one codec), and so is a
    /// key variable (<c>STATE_ENCRYPTION_KEY_FILE</c>, <c>STATE_ENCRYPTION_KEY</c>) beside it.
    /// </summary>
    public EncryptionOptions Encryption { get; } = new();

    /// <summary>
    /// The codec a store built from these options uses: <see cref="PayloadCodec"/> when set, else the AES-256-GCM codec
    /// over <see cref="Encryption"/>'s key source when one is configured, else null (the identity codec). Reads the
    /// key file or variable: a missing, loose (looser than 0600), invalid one, or a key file inside the state directory,
    /// throws <see cref="Errors.StatePersistenceException"/> naming it.
    /// </summary>
    public Serialization.IPayloadCodec? ResolvePayloadCodec(bool hasStateDirectory = true) =>
        PayloadCodec ?? Encryption.ResolveCodec(hasStateDirectory ? ResolveStatePath() : null);

    /// <summary>Whether to write the final snapshot on shutdown. Default true.</summary>
    public bool SnapshotOnShutdown
    {
        get => _snapshotOnShutdown;
        set => _snapshotOnShutdown = Unfrozen(value);
    }

    /// <summary>
    /// Whether opening a state directory of an older format migrates it (pre-migration backup, transformation,
    /// validation, version update; see the README's "Versions and migrations"). Default true. When false, such a
    /// directory (or one whose migration was interrupted) is refused with <see cref="Errors.StateMigrationRequiredException"/>
    /// and left untouched, for operators who migrate in a maintenance window with <c>statectl migrate apply</c>.
    /// </summary>
    public bool AutoMigrate
    {
        get => _autoMigrate;
        set => _autoMigrate = Unfrozen(value);
    }

    /// <summary>
    /// What a conditional write (<c>SaveTaskAsync(task, ExpectedRevision.Exactly(r))</c>, <c>UpdateTaskAsync(id, …,
    /// Exactly(r))</c>, a delete, and the session ones) does when the item is no longer at the revision it expects.
    /// Default <see cref="StatePersistence.ConflictPolicy.Reject"/>. A create-only write (<c>Absent</c>) is always
    /// refused when the item exists.
    /// </summary>
    public ConflictPolicy ConflictPolicy
    {
        get => _conflictPolicy;
        set => _conflictPolicy = Unfrozen(value);
    }

    /// <summary>
    /// Under <see cref="StatePersistence.ConflictPolicy.Merge"/>: <c>(current, attempted) =&gt; merged</c> for tasks.
    /// Called outside every lock, and again when the merged task meets a newer version. Null: task conflicts are refused.
    /// </summary>
    public Func<Model.AgentTask, Model.AgentTask, Model.AgentTask>? MergeTask
    {
        get => _mergeTask;
        set => _mergeTask = Unfrozen(value);
    }

    /// <summary>Like <see cref="MergeTask"/>, for sessions.</summary>
    public Func<Model.SessionInfo, Model.SessionInfo, Model.SessionInfo>? MergeSession
    {
        get => _mergeSession;
        set => _mergeSession = Unfrozen(value);
    }

    /// <summary>
    /// Secret redaction before storage: on by default for session log appends and task log messages (see the README's
    /// "Secret redaction"). Bound from <c>StatePersistence:Redaction</c> (<c>Enabled</c>, <c>Patterns:kind</c>).
    /// </summary>
    public RedactionOptions Redaction => _redaction;

    /// <summary>
    /// The retention policy, off by default (see the README's "Retention"): session logs capped and rotated by size,
    /// reports expired by age, by a background pass. Bound from <c>StatePersistence:Retention</c>.
    /// </summary>
    public RetentionOptions Retention { get; } = new();

    /// <summary>
    /// Over a shared store, how many deletions the feed has delivered are remembered beyond those still needed
    /// (<see cref="Commit.SharedTombstones"/>). Not an option users set: tests lower it to see tombstones pruned.
    /// </summary>
    internal int TombstonesKept { get; set; } = Commit.SharedTombstones.DefaultKept;

    /// <summary>
    /// The most bytes a journal segment holds before appends start a new one (<see cref="FileStore.Journal.JournalWriter"/>).
    /// Not an option users set: tests lower it to see segments roll over.
    /// </summary>
    internal long JournalSegmentBound { get; set; } = FileStore.Journal.JournalWriter.DefaultSegmentBound;

    /// <summary>Makes these options read-only; the service does it when it starts.</summary>
    internal void Freeze()
    {
        _redaction.Freeze();
        Retention.Freeze();
        Encryption.Freeze();
        Volatile.Write(ref _frozen, true);
    }

    /// <summary>
    /// Resolves the directory: the explicit <see cref="StatePath"/>, else <c>STATE_PATH</c>, else the default;
    /// returned as an absolute path.
    /// </summary>
    public string ResolveStatePath()
    {
        string? path = StatePath;
        if (string.IsNullOrWhiteSpace(path))
        {
            path = Environment.GetEnvironmentVariable(StatePathVariable);
        }

        if (string.IsNullOrWhiteSpace(path))
        {
            path = DefaultStatePath;
        }

        return Path.GetFullPath(path);
    }

    /// <summary>Returns the problems with these options, empty when they are valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        foreach ((string name, TimeSpan value, string zeroMeans) in (ReadOnlySpan<(string, TimeSpan, string)>)[
            (nameof(AutosaveInterval), AutosaveInterval, "turns autosave off"),
            (nameof(ScrubInterval), ScrubInterval, "turns the scrub off"),
            (nameof(DiskUsageInterval), DiskUsageInterval, "measures the disk use at every health check"),
            (nameof(ReencryptionInterval), ReencryptionInterval, "turns background re-encryption off")])
        {
            if (Service.Checkpoints.TimerInterval.Problem(name, value, zeroMeans) is { } problem)
            {
                problems.Add(problem);
            }
        }

        if (MaxBackups < 1)
        {
            problems.Add($"MaxBackups must be at least 1 (was {MaxBackups}); the newest backup is what recovery falls back to.");
        }

        if (EventHistory < 1)
        {
            problems.Add($"EventHistory must be at least 1 (was {EventHistory}); it is how many events a reader can resume over.");
        }

        if (EventHistory > MaxEventHistory)
        {
            // The ring is allocated whole when the service starts: int.MaxValue crashed the start with OutOfMemoryException.
            problems.Add($"EventHistory must be at most {MaxEventHistory} (was {EventHistory}); it is how many events a reader can resume over, held in memory.");
        }

        if (MaxBackupBytes < 0)
        {
            problems.Add($"MaxBackupBytes must not be negative (was {MaxBackupBytes}).");
        }

        if (CheckpointAfterBytes < 0)
        {
            problems.Add($"CheckpointAfterBytes must not be negative (was {CheckpointAfterBytes}); 0 turns checkpoints by journal size off.");
        }

        if (CheckpointAfterBytes > MaxCheckpointAfterBytes)
        {
            // Four times the threshold is where saves stall: past 2^61 that product overflowed to a negative number and
            // every save was refused with 503 as if checkpoints had fallen behind.
            problems.Add($"CheckpointAfterBytes must be at most {MaxCheckpointAfterBytes} (1 TiB) (was {CheckpointAfterBytes}); 0 turns checkpoints by journal size off.");
        }

        if (JournalPreallocationBytes < 0)
        {
            problems.Add($"JournalPreallocationBytes must not be negative (was {JournalPreallocationBytes}).");
        }

        if (!Enum.IsDefined(Durability))
        {
            problems.Add($"Durability must be Full or Relaxed (was {(int)Durability}).");
        }

        if (!Enum.IsDefined(JournalRecoveryMode))
        {
            problems.Add($"JournalRecoveryMode must be SkipCorruptedRecords or AbsoluteConsistency (was {(int)JournalRecoveryMode}).");
        }

        if (!Enum.IsDefined(ConflictPolicy))
        {
            problems.Add($"ConflictPolicy must be Reject, LastWriterWins or Merge (was {(int)ConflictPolicy}).");
        }

        if (ConflictPolicy == ConflictPolicy.Merge && MergeTask is null && MergeSession is null)
        {
            problems.Add("ConflictPolicy is Merge but neither MergeTask nor MergeSession is set: give the merge callback in code.");
        }

        if (Encryption.KeyFile is { Length: > 0 } keyFile && PayloadCodec is not null)
        {
            problems.Add($"Encryption.KeyFile is set ('{keyFile}') and so is PayloadCodec ({PayloadCodec.Name}): a store has one codec; set only one.");
        }

        if (Encryption.KeyProvider is not null && PayloadCodec is not null)
        {
            // PayloadCodec wins: the key provider, the application's KMS, was dropped and the store wrote through the codec alone.
            problems.Add($"Encryption.KeyProvider is set ({Encryption.KeyProvider.GetType().Name}) and so is PayloadCodec ({PayloadCodec.Name}): a store has one codec; set only one (an encrypting codec of your own, or the key provider).");
        }

        if (PayloadCodec is not null && Encryption.ResolveKeyVariable() is { } variable)
        {
            // PayloadCodec wins: the operator's variable was dropped and the store wrote through the codec alone, so the
            // data was not encrypted with the keys the variable gives (statectl, reading them, could not open it).
            problems.Add($"The environment variable {variable} is set and so is PayloadCodec ({PayloadCodec.Name}): a store has one codec; "
                + "unset the variable for this application, or leave PayloadCodec out to encrypt with its keys.");
        }

        if (Encryption.ResolveKeyFile() is { } resolvedKeyFile && PathContainment.IsInside(resolvedKeyFile, ResolveStatePath()))
        {
            problems.Add($"Encryption.KeyFile '{resolvedKeyFile}' is inside the state directory '{ResolveStatePath()}': keep the key file elsewhere, so a copy of the directory does not carry its key.");
        }

        if (StatePath is not null && string.IsNullOrWhiteSpace(StatePath))
        {
            problems.Add("StatePath is empty: leave it unset for $STATE_PATH (else ./coding-agent-state), or name a directory.");
        }

        if (StatePath is not null && StatePath.IndexOfAny(['\0']) >= 0)
        {
            problems.Add("StatePath contains a NUL character.");
        }

        _redaction.Validate(problems);
        Retention.Validate(problems);

        return problems;
    }

    private T Unfrozen<T>(T value, [System.Runtime.CompilerServices.CallerMemberName] string setting = "") =>
        IsFrozen
            ? throw new InvalidOperationException(
                $"StatePersistenceOptions.{setting} cannot change once the service using these options has started; set it before StartAsync (or create the service with new options).")
            : value;
}
