using System.Collections.Immutable;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StatePersistence.Commit;
using StatePersistence.Diagnostics;
using StatePersistence.Encryption;
using StatePersistence.Errors;
using StatePersistence.FileStore.Journal;
using StatePersistence.FileStore.Migrations;
using StatePersistence.FileStore.Snapshot;
using StatePersistence.FileSystem;
using StatePersistence.Ids;
using StatePersistence.Recovery;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;
using StatePersistence.Storage;

namespace StatePersistence.FileStore;

/// <summary>
/// The default store: a state directory in the seed's layout. A save is durable when its journal record is
/// (one append and one fsync, shared by every save that arrived meanwhile); checkpoints then write the seed's files
/// (<c>tasks/&lt;id&gt;.json</c>, <c>sessions/&lt;id&gt;.json</c>, <c>state.json</c> with its backups) in the
/// background and drop the journal they cover. A journal record's sequence number is the revision of every item
/// its group changed, so the change log of the contract is the journal itself.
/// </summary>
public sealed partial class FileStateStore : IStateStore, ICheckpointStore, IStateBlobStore, ICleanCloseStore
{
    private readonly IFileSystem _fileSystem;
    private readonly PayloadEnvelope _envelope;
    private readonly KeyFileProvider? _keyFile;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly StatePersistenceOptions _options;
    private readonly StateLayout _layout;
    private readonly Quarantine _quarantine;
    private readonly Health.DiskUsageSurvey _diskUsage;
    private readonly Reports.ReportIndex _reportIndex = new();
    private readonly Backups _backups;
    private readonly SessionLogs _logs;
    private readonly StateDirectoryGuard _guard;
    private readonly UnreadableFiles _unreadable = new();
    private IDisposable? _lock;
    private JournalWriter? _journal;
    private StateView _filesView = StateView.Empty;
    private bool _sweepItemFiles;
    private readonly HashSet<string> _deletedTasks = new(StringComparer.Ordinal);
    private readonly HashSet<string> _deletedSessions = new(StringComparer.Ordinal);
    private IReadOnlyList<long> _checkpointCut = [];
    private long _descriptorShortages;
    private CommitSequencer? _sequencer;
    private ChangeFeed? _feed;

    /// <summary>Set once a link of <c>state.json</c> to its backup was refused: checkpoints rename it from then on.</summary>
    private bool _backupLinksUnsupported;

    /// <summary>
    /// Creates a store for the directory <see cref="StatePersistenceOptions.ResolveStatePath"/> names, writing through
    /// <paramref name="codec"/>, or when it is null the codec the options call for
    /// (<see cref="StatePersistenceOptions.ResolvePayloadCodec"/>: encryption when a key source is configured), as
    /// <see cref="FileStatePersistence.Create"/> does: a store built by hand must not write in the clear what the
    /// options say to encrypt.
    /// </summary>
    public FileStateStore(StatePersistenceOptions options, IPayloadCodec? codec = null, TimeProvider? timeProvider = null,
        ILogger<FileStateStore>? logger = null)
        : this(options, PhysicalFileSystem.Instance, codec ?? (options ?? throw new ArgumentNullException(nameof(options))).ResolvePayloadCodec(), timeProvider, logger)
    {
    }

    /// <summary>Creates a store over <paramref name="fileSystem"/>: the crash and fault tests' simulated disks.</summary>
    internal FileStateStore(StatePersistenceOptions options, IFileSystem fileSystem, IPayloadCodec? codec = null,
        TimeProvider? timeProvider = null, ILogger<FileStateStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        ArgumentNullException.ThrowIfNull(fileSystem);
        _fileSystem = fileSystem;
        _envelope = PayloadEnvelope.For(codec);
        _reencryptionRemaining = StartingReencryptionFigure(codec);
        _keyFile = (codec as AesGcmCodec)?.Keys as KeyFileProvider;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _layout = new StateLayout(options.ResolveStatePath());
        _quarantine = new Quarantine(_fileSystem, _time);
        _diskUsage = new Health.DiskUsageSurvey(MeasureFolders, options.DiskUsageInterval, _time, _layout.Root);
        _backups = new Backups(_fileSystem, _layout);
        _logs = new SessionLogs(_fileSystem, _layout, _envelope, _time, file => DamageFound?.Invoke(this, file));
        _guard = new StateDirectoryGuard(_fileSystem, _layout);
    }

    /// <summary>Raised when a corrupt file is moved aside outside start-up (for example a corrupt report).</summary>
    public event EventHandler<QuarantinedFile>? DamageFound;

    /// <summary>The state directory's layout.</summary>
    internal StateLayout Layout => _layout;

    /// <inheritdoc />
    public string Location => _layout.Root;

    /// <inheritdoc />
    public async ValueTask<RecoveredState> OpenAsync(CancellationToken cancellationToken = default)
    {
        if (_lock is not null)
        {
            throw new InvalidOperationException($"The store for '{Location}' is already open.");
        }

        // The token is heeded only where stopping leaves nothing half done: before the directory is created or locked,
        // and once locked, before recovery or a migration changes anything. From there the open runs to its end (the
        // migration's checkpoint too), so what recovery moved aside always gets its recovery-report.json.
        cancellationToken.ThrowIfCancellationRequested();
        var report = new RecoveryReport { StartedAt = _time.GetUtcNow() };
        var migrations = new MigrationRunner(_fileSystem, _layout, _envelope, _time, Migrations);
        MigrationPlan plan;
        try
        {
            // Read-only, before the lock file or a directory is created: a directory an import has not finished
            // filling is refused untouched, so is one of a newer format, and so is one that needs a migration when
            // automatic migration is off.
            if (_fileSystem.FileExists(_layout.ImportMarkerFile))
            {
                throw new StateImportIncompleteException(Location, _layout.ImportMarkerFile, Operations.ImportMarker.Read(_fileSystem, _layout)?.Archive);
            }

            plan = migrations.Plan();
            if (plan.Pending && !_options.AutoMigrate && !MigrateRegardless)
            {
                throw new StateMigrationRequiredException(Location, plan.Interrupted ? plan.LastRun!.From : plan.Detected.Version, Model.StateFormat.CurrentVersion,
                    plan.Interrupted, rollbackInterrupted: plan.LastRun?.Status == MigrationManifest.RollingBack);
            }

            cancellationToken.ThrowIfCancellationRequested();
            StateDirectories.Ensure(_fileSystem, _layout, report);
            _lock = DirectoryLock.Acquire(_fileSystem, _layout, report.StartedAt);
            _guard.RememberOpenedDirectory();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The read-only look above reads files that a process holding the directory may be replacing meanwhile (a
            // file listed, then renamed away by a checkpoint): then that process is what to report, not the read.
            if (_lock is null)
            {
                DirectoryLock.ThrowIfHeldByAnother(_fileSystem, _layout, ex);
            }

            throw OpenFailed(ex);
        }

        try
        {
            cancellationToken.ThrowIfCancellationRequested();

            // Planned again under the lock, when there is something to do: the directory is this process's only from
            // now on. (A directory of the current format never becomes an older one, so no second look is needed then.)
            PendingMigration? migration = plan.Pending ? migrations.Begin(migrations.Plan()) : null;
            FileRecoveryResult result = new FileRecovery(_fileSystem, _layout, _envelope, _quarantine, report, _options.JournalRecoveryMode, RebuildOnOpen,
                readsOriginalFormat: migration?.Context.ReadsOriginalFormat ?? false) { ReplayWindowBytes = ReplayWindowBytes }.Run();
            _logs.RepairTails(report);
            _filesView = result.FilesView;
            _sweepItemFiles = result.SweepItemFiles;
            _deletedTasks.UnionWith(result.DeletedTasks);
            _deletedSessions.UnionWith(result.DeletedSessions);
            _journal = StartJournal(result.Journal, result.View, report);

            _sequencer = new CommitSequencer(result.View);
            _feed = new ChangeFeed(result.View.Revision, Location);
            PrepareSpareSegment();
            DateTimeOffset? checkpointWrittenAt = migration is null
                ? null
                : await FinishMigrationAsync(migrations, migration, result.View, report, CancellationToken.None).ConfigureAwait(false);

            // Torn tails too: content cannot tell a power cut's unacknowledged tail from acknowledged data cut short
            // at rest, so what was dropped must be findable after the log lines are gone. Likewise items taken from
            // a backup (possibly stale), even with nothing moved aside: an imported Node directory whose state.json
            // was missing.
            if (report.CorruptionDetected || report.BytesDropped || report.RestoredFromBackup.Count > 0)
            {
                WriteRecoveryReport(report);
            }

            // The first health check (a readiness probe, often with a timeout of a second) finds the measure of the
            // folders taken rather than waiting for one: 0.5-0.8 s with 100,000 task files.
            _diskUsage.Start();
            return new RecoveredState(result.View, report) { CheckpointWrittenAt = checkpointWrittenAt, ItemChangesAtPosition = result.ItemChangesAtRevision };
        }
        catch (Exception ex)
        {
            _journal?.Dispose();
            _journal = null;

            // Under the lock still: no other process may start on the directory while it is being put back.
            string? notPutBack = StartupMoves.PutBack(_fileSystem, report);
            _lock.Dispose();
            _lock = null;
            if (ex is IOException or UnauthorizedAccessException)
            {
                throw OpenFailed(ex, notPutBack);
            }

            if (notPutBack is not null)
            {
                throw new StateStorageException($"{ex.Message.TrimEnd('.')}. {notPutBack}", Location, ex, isTransient: false);
            }

            throw;
        }
    }

    /// <summary>
    /// An I/O failure during start-up, in the library's exception family; nothing was lost or changed for good (what
    /// recovery had moved aside was put back, see <see cref="StartupMoves"/>; <paramref name="notPutBack"/> says what could not be).
    /// </summary>
    private StateStorageException OpenFailed(Exception ex, string? notPutBack = null) =>
        new($"Opening the state directory '{Location}' failed: {ex.Message.TrimEnd('.')}. "
            + (notPutBack ?? "Nothing was lost; fix the cause and start again."), Location, ex, ex is IOException);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<CommitOutcome>> AppendAsync(IReadOnlyList<IReadOnlyList<StateChange>> groups, Durability durability,
        CancellationToken cancellationToken = default)
    {
        CommitSequencer sequencer = _sequencer ?? throw new InvalidOperationException($"The store for '{Location}' is not open.");
        CommitPlan plan = sequencer.Plan(groups);
        IReadOnlyList<CommittedGroup> committed = plan.Committed;
        if (committed.Count > 0)
        {
            // Committed groups have consecutive positions: they are the journal's next sequence numbers.
            _guard.ThrowIfSeenMoved();
            Journal.Append([.. committed.Select(g => g.Changes)], committed[0].Revision, durability);
            _guard.ThrowIfMoved(Journal.CurrentSegment);
        }

        sequencer.Accept(plan);
        _feed!.Publish(committed);
        return ValueTask.FromResult(plan.Outcomes);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<CommittedGroup>> ReadChangesAsync(long afterPosition, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Feed.Read(afterPosition));

    /// <inheritdoc />
    public IAsyncEnumerable<CommittedGroup> SubscribeAsync(long afterPosition, CancellationToken cancellationToken = default) =>
        Feed.SubscribeAsync(afterPosition, cancellationToken);

    /// <inheritdoc />
    public ValueTask BeginCheckpointAsync(long revision, CancellationToken cancellationToken = default)
    {
        // The cut may create a segment: not at the path of a directory that is gone.
        _guard.ThrowIfMoved();
        _checkpointCut = Journal.Cut(revision, _options.Durability);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<CheckpointResult> WriteCheckpointAsync(StateView view, DateTimeOffset savedAt, Durability durability,
        CancellationToken cancellationToken = default)
    {
        _guard.ThrowIfMoved();
        string step = _layout.TasksDirectory;
        try
        {
            var tasks = new ItemFiles(_fileSystem, _layout, _envelope, PayloadKind.Task, _layout.TasksDirectory, DescriptorsRanOut);
            (int tasksWritten, List<string> tasksDeleted) = tasks.Sync(view.Tasks, _filesView.Tasks, _sweepItemFiles, _deletedTasks, (p, r) => KeepAside(p, r), durability);
            step = _layout.SessionsDirectory;
            var sessions = new ItemFiles(_fileSystem, _layout, _envelope, PayloadKind.Session, _layout.SessionsDirectory, DescriptorsRanOut);
            (int sessionsWritten, List<string> sessionsDeleted) = sessions.Sync(view.Sessions, _filesView.Sessions, _sweepItemFiles, _deletedSessions, (p, r) => KeepAside(p, r), durability);
            _filesView = view;
            _sweepItemFiles = false;
            _deletedTasks.Clear();
            _deletedSessions.Clear();

            step = _layout.StateFile;
            long bytes = WriteSnapshot(view, savedAt, new Tombstones(tasksDeleted, sessionsDeleted), durability);
            Journal.SnapshotWritten(bytes);
            step = _layout.JournalDirectory;
            Journal.DeleteSegments(_checkpointCut);
            step = _layout.Root;
            _backups.Prune(_options.MaxBackups, _options.MaxBackupBytes, (p, r) => KeepAside(p, r));
            PrepareSpareSegment();
            CheckpointResealed();
            return ValueTask.FromResult(new CheckpointResult(_layout.StateFile, bytes, new Dictionary<string, long>
            {
                ["files_written"] = tasksWritten + sessionsWritten,
                ["files_deleted"] = tasksDeleted.Count + sessionsDeleted.Count,
            }));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The files view may now be ahead of what is durable; sweep next time rather than trust it. Every id of
            // this view may have a file now, so one the state no longer holds by then was deleted: evidence enough.
            _sweepItemFiles = true;
            _deletedTasks.UnionWith(view.Tasks.Keys);
            _deletedSessions.UnionWith(view.Sessions.Keys);
            throw new StateStorageException($"Writing the checkpoint failed at '{step}': {ex.Message}. The journal still holds every saved change.", step, ex);
        }
    }

    /// <summary>
    /// A checkpoint went on in smaller batches because the process ran out of file descriptors: it still succeeds,
    /// but each smaller batch costs a disk flush of its own, so the operator is told (a warning, and
    /// <c>checkpoint_descriptor_shortages</c> in the health figures) to raise the limit.
    /// </summary>
    private void DescriptorsRanOut(DescriptorShortage shortage)
    {
        Interlocked.Increment(ref _descriptorShortages);
        Log.CheckpointOutOfDescriptors(_logger, shortage.Directory, shortage.Opened, shortage.NextBatchSize, shortage.Error);
    }

    /// <inheritdoc />
    public async ValueTask AppendSessionLogAsync(string sessionId, ReadOnlyMemory<byte> utf8Text, Durability durability,
        CancellationToken cancellationToken = default)
    {
        StateId.Validate(sessionId, "session");
        _guard.ThrowIfMoved();
        await WrapIo(_logs.AppendAsync(sessionId, utf8Text, durability, cancellationToken), _layout.SessionLogFile(sessionId), "Appending to the session log").ConfigureAwait(false);
        _guard.ThrowIfMoved();
    }

    /// <inheritdoc />
    /// <remarks>Looked at and written under the log's gate, which every append, rotation and removal of the log takes.</remarks>
    public async ValueTask<bool> TryCreateSessionLogAsync(string sessionId, ReadOnlyMemory<byte> utf8Text, Durability durability,
        CancellationToken cancellationToken = default)
    {
        StateId.Validate(sessionId, "session");
        _guard.ThrowIfMoved();
        bool created = await WrapIo(_logs.TryCreateAsync(sessionId, utf8Text, durability, cancellationToken), _layout.SessionLogFile(sessionId), "Creating the session log").ConfigureAwait(false);
        _guard.ThrowIfMoved();
        return created;
    }

    /// <inheritdoc />
    /// <remarks>From a listing of <c>logs/</c>: every live log and rotated part (a log may have only parts), not temp or quarantined files.</remarks>
    public ValueTask<IReadOnlyList<string>> ListSessionLogsAsync(string? after, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return ValueTask.FromResult(OrdinalPage.After(SessionLogFiles().Select(f => f.Id).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal), after, limit));
    }

    /// <inheritdoc />
    public ValueTask<long> SessionLogSizeAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        StateId.Validate(sessionId, "session");
        string path = _layout.SessionLogFile(sessionId);
        return ValueTask.FromResult(Io(() => _fileSystem.FileExists(path) ? _fileSystem.LengthOf(path) : 0, path, "Measuring the session log"));
    }

    /// <inheritdoc />
    /// <remarks>
    /// From the log's files (the live log, or a rotated part in a listing of <c>logs/</c>), none of them opened: before
    /// 2026-12-07 a log whose text was all in rotated parts was opened, every part read and verified, and one under a key
    /// the key file no longer opens was refused (SessionLogDeleteExistenceTests).
    /// </remarks>
    public ValueTask<bool> SessionLogExistsAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        StateId.Validate(sessionId, "session");
        string path = _layout.SessionLogFile(sessionId);
        return ValueTask.FromResult(Io(() => _logs.Exists(sessionId), path, "Looking for the session log"));
    }

    /// <inheritdoc />
    public ValueTask<byte[]?> ReadSessionLogAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        StateId.Validate(sessionId, "session");
        string path = _layout.SessionLogFile(sessionId);
        try
        {
            byte[]? text = Io(() => _logs.Read(sessionId), path, "Reading the session log");
            _unreadable.Remove(path);
            return ValueTask.FromResult(text);
        }
        catch (StateFormatException ex)
        {
            Unreadable(ex, path);
            throw;
        }
    }

    /// <inheritdoc />
    public ValueTask<ISessionLogReader?> OpenSessionLogAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        StateId.Validate(sessionId, "session");
        string path = _layout.SessionLogFile(sessionId);
        try
        {
            ISessionLogReader? reader = Io(() => _logs.Open(sessionId), path, "Reading the session log");
            _unreadable.Remove(path);
            return ValueTask.FromResult(reader);
        }
        catch (StateFormatException ex)
        {
            Unreadable(ex, path);
            throw;
        }
    }

    /// <inheritdoc />
    public ValueTask<string> SaveReportAsync(string reportId, ReadOnlyMemory<byte> json, Durability durability,
        CancellationToken cancellationToken = default)
    {
        StateId.Validate(reportId, "report");
        cancellationToken.ThrowIfCancellationRequested();
        _guard.ThrowIfMoved();
        string path = _layout.ReportFile(reportId);
        Io(() =>
        {
            using (_reportWrites.EnterScope())
            {
                return WriteReport(reportId, path, json, durability);
            }
        }, path, "Saving the report");
        _guard.ThrowIfMoved();
        return ValueTask.FromResult(path);
    }

    /// <inheritdoc />
    /// <remarks>Looked at and written under the lock every report write of this process takes (one process writes a directory).</remarks>
    public ValueTask<bool> TryCreateReportAsync(string reportId, ReadOnlyMemory<byte> json, Durability durability,
        CancellationToken cancellationToken = default)
    {
        StateId.Validate(reportId, "report");
        cancellationToken.ThrowIfCancellationRequested();
        _guard.ThrowIfMoved();
        string path = _layout.ReportFile(reportId);
        bool created = Io(() =>
        {
            using (_reportWrites.EnterScope())
            {
                if (_fileSystem.FileExists(path))
                {
                    return false;
                }

                WriteReport(reportId, path, json, durability);
                return true;
            }
        }, path, "Creating the report");
        _guard.ThrowIfMoved();
        return ValueTask.FromResult(created);
    }

    /// <summary>Writes a report's file atomically and keeps the report index with it; under <see cref="_reportWrites"/>.</summary>
    private string WriteReport(string reportId, string path, ReadOnlyMemory<byte> json, Durability durability) =>
        _reportIndex.Write(reportId, stored: true, () =>
        {
            AtomicFile.Write(_fileSystem, _layout, path, _envelope.Seal(PayloadKind.Report, reportId, json.Span), durability);
            return path;
        });

    /// <inheritdoc />
    public ValueTask<byte[]?> LoadReportAsync(string reportId, CancellationToken cancellationToken = default)
    {
        StateId.Validate(reportId, "report");
        string path = _layout.ReportFile(reportId);
        byte[]? stored = Io(() => _fileSystem.FileExists(path) ? ReadIfStillThere(path) : null, path, "Loading the report");
        if (stored is null)
        {
            return ValueTask.FromResult<byte[]?>(null);
        }

        try
        {
            byte[] json = _envelope.Open(PayloadKind.Report, reportId, stored, path);
            _unreadable.Remove(path);
            return ValueTask.FromResult<byte[]?>(json);
        }
        catch (StateFormatException ex)
        {
            // Not damage: the report stays as it is. Logged here, where its cause is known, and kept for health.
            Unreadable(ex, path);
            throw;
        }
        catch (InvalidDataException)
        {
            return ValueTask.FromResult(LoadCorruptReport(reportId, path));
        }
    }

    /// <summary>
    /// The file's bytes, or null when it is gone: read without the lock report writes take, a report seen a moment
    /// earlier may have been deleted since (expired, archived, moved aside by another read), which is no failure.
    /// </summary>
    private byte[]? ReadIfStillThere(string path)
    {
        try
        {
            return _fileSystem.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    /// <summary>
    /// A report whose file failed to open when read without the lock report saves take: read and judged again under
    /// that lock, and moved aside only if it still fails. A save may have replaced the file since it was read (the
    /// report it made durable is then served), or another read moved it aside (none is left: null). Moving aside what
    /// was at the path by then, unchecked, took a save acknowledged a moment earlier out of the store.
    /// </summary>
    private byte[]? LoadCorruptReport(string reportId, string path)
    {
        (byte[]? Json, QuarantinedFile? Moved, InvalidDataException? Damage) found = Io<(byte[]?, QuarantinedFile?, InvalidDataException?)>(() =>
        {
            using (_reportWrites.EnterScope())
            {
                if (!_fileSystem.FileExists(path))
                {
                    return (null, null, null);
                }

                try
                {
                    return (_envelope.Open(PayloadKind.Report, reportId, _fileSystem.ReadAllBytes(path), path), null, null);
                }
                catch (InvalidDataException damage)
                {
                    return (null, QuarantineReport(reportId, path, damage.Message), damage);
                }
            }
        }, path, "Quarantining the corrupt report");
        if (found is { Moved: { } moved, Damage: { } ex })
        {
            RaiseQuarantined(moved);
            throw new StateStorageException($"The report '{path}' is corrupt ({ex.Message}); it was moved to '{moved.QuarantinePath}'.", path, ex, isTransient: false);
        }

        _unreadable.Remove(path);
        return found.Json;
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<string>> ListReportsAsync(string? after, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        cancellationToken.ThrowIfCancellationRequested();
        IReadOnlyList<string>? page;
        while ((page = _reportIndex.Page(after, limit)) is null)
        {
            BuildReportIndex();
        }

        return ValueTask.FromResult(page);
    }

    /// <inheritdoc />
    public ValueTask<long> CountReportsAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        long? count;
        while ((count = _reportIndex.Count) is null)
        {
            BuildReportIndex();
        }

        return ValueTask.FromResult(count.Value);
    }

    /// <summary>
    /// Builds the report index from a listing of the folder, while no report write runs (see
    /// <see cref="Reports.ReportIndex"/>). Its callers read it again after: a write failing meanwhile drops it.
    /// </summary>
    private void BuildReportIndex()
    {
        using (_reportWrites.EnterScope())
        {
            if (!_reportIndex.Built)
            {
                _reportIndex.Replace(ListReportIds());
            }
        }
    }

    /// <summary>Moves a corrupt report aside (evidence, never deleted), and out of the index.</summary>
    private QuarantinedFile QuarantineReport(string reportId, string path, string reason)
    {
        using (_reportWrites.EnterScope())
        {
            return _reportIndex.Write(reportId, stored: false, () => _quarantine.MoveAside(path, reason));
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<string>> ListReportsAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IReadOnlyList<string>>(ListReportIds());

    private List<string> ListReportIds()
    {
        var ids = new List<string>();
        foreach (string name in Io(() => _fileSystem.ListFiles(_layout.ReportsDirectory), _layout.ReportsDirectory, "Listing reports"))
        {
            if (name.StartsWith("report_", StringComparison.Ordinal) && StateLayout.ItemId(name) is { } stem && StateId.IsValid(stem["report_".Length..]))
            {
                ids.Add(stem["report_".Length..]);
            }
        }

        ids.Sort(StringComparer.Ordinal);
        return ids;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        // First, while the lock is still held: the measure of the folders must not outlive the store (DiskUsageSurvey).
        await _diskUsage.StopAsync().ConfigureAwait(false);
        _journal?.Dispose();
        _journal = null;
        _lock?.Dispose();
        _lock = null;
    }

    private JournalWriter Journal => _journal ?? throw new InvalidOperationException($"The store for '{Location}' is not open.");

    private ChangeFeed Feed => _feed ?? throw new InvalidOperationException($"The store for '{Location}' is not open.");

    private long WriteSnapshot(StateView view, DateTimeOffset savedAt, Tombstones deleted, Durability durability)
    {
        string temp = _layout.NextTempPath(_layout.StateFile);
        long bytes = AtomicFile.WriteTemp(_fileSystem, temp, stream =>
        {
            Stream encoded = _envelope.SealStream(PayloadKind.Snapshot, FileRecovery.SnapshotId, stream);
            try
            {
                SnapshotWriter.Write(encoded, view, savedAt, deleted);
            }
            finally
            {
                if (!ReferenceEquals(encoded, stream))
                {
                    encoded.Dispose();
                }
            }
        }, durability);
        string? linkedBackup = null;
        try
        {
            if (_fileSystem.FileExists(_layout.StateFile))
            {
                string backup = _backups.NextPath(savedAt);
                if (KeepAsBackupByLink(backup))
                {
                    linkedBackup = backup;
                }
                else
                {
                    _fileSystem.Rename(_layout.StateFile, backup);
                }
            }

            _fileSystem.Rename(temp, _layout.StateFile);
        }
        catch (Exception ex)
        {
            // A snapshot never renamed into place is never read (start-up removes it): left here it only holds space.
            // A backup linked for it is a second name of the state.json that stays: repeated failures would otherwise
            // fill the backups with copies of one state and prune the older ones away.
            if (FailedWriteCleanup.RemoveTemps(_fileSystem, linkedBackup is null ? [temp] : [temp, linkedBackup], ex) is { } alsoNotRemoved)
            {
                throw alsoNotRemoved;
            }

            throw;
        }

        if (durability == Durability.Full)
        {
            _fileSystem.SyncDirectory(_layout.Root);
        }

        return bytes;
    }

    /// <summary>
    /// Makes the current <c>state.json</c> the backup <paramref name="backup"/> by giving it that second name (a hard
    /// link), so the rename of its successor then replaces <c>state.json</c> atomically: there is always a
    /// <c>state.json</c>, for a reader beside the server and after a crash at any point of the checkpoint. Renaming it to
    /// the backup first, as before, left a moment with none: readers had to wait it out, and a crash there left start-up
    /// to rebuild the state from the task and session files. False on a file system that has no hard links or refuses
    /// this one (said once, event 12), where the caller renames as before.
    /// </summary>
    private bool KeepAsBackupByLink(string backup)
    {
        if (_backupLinksUnsupported)
        {
            return false;
        }

        try
        {
            _fileSystem.Link(_layout.StateFile, backup);
            return true;
        }
        catch (NotSupportedException ex)
        {
            _backupLinksUnsupported = true;
            Log.BackupLinkUnsupported(_logger, _layout.Root, ex.Message);
            return false;
        }
    }

    /// <summary>
    /// Prepares the segment the next cut will use. Like every other I/O failure, a failure here fails the call that
    /// met it (start-up or the checkpoint), so it is reported and counted; the next checkpoint tries again.
    /// </summary>
    private void PrepareSpareSegment() => Journal.PrepareSpare(_options.Durability);

    private void WriteRecoveryReport(RecoveryReport report)
    {
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(report, StateJsonContext.Default.RecoveryReport);
        AtomicFile.Write(_fileSystem, _layout, _layout.RecoveryReportFile, json, Durability.Full);
    }
}
