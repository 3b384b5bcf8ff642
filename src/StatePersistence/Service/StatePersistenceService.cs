using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StatePersistence.Diagnostics;
using StatePersistence.Errors;
using StatePersistence.Events;
using StatePersistence.Model;
using StatePersistence.Recovery;
using StatePersistence.Service.Blobs;
using StatePersistence.Service.Checkpoints;
using StatePersistence.Service.Commits;
using StatePersistence.Service.Events;
using StatePersistence.Service.Health;
using StatePersistence.Service.Items;
using StatePersistence.Service.Reads;
using StatePersistence.Service.Sync;
using StatePersistence.Storage;

namespace StatePersistence;

/// <summary>
/// The persistence service: the seed's API over a store it is given (it never chooses one: see
/// <c>FileStatePersistence</c> or the hosting package's <c>AddStatePersistence</c>). Create it, attach event
/// handlers, call <see cref="StartAsync"/> (recovery, then autosave), use it, and dispose it (final snapshot).
/// This class only validates and delegates; each job is its own type under <c>Service/</c>.
/// </summary>
public sealed partial class StatePersistenceService : IStatePersistence
{
    private readonly StatePersistenceOptions _options;
    private readonly SettingsTakenWhenBuilt _builtWith;
    private readonly IStateStore _store;
    private readonly StateInstruments _instruments;
    private readonly CancellationTokenSource _stopping = new();
    private readonly HealthTracker _health;
    private readonly EventDispatcher _events;
    private readonly StateEventLog _eventLog;
    private readonly ChangeFeedPump _changeEvents;
    private readonly CommitPipeline _commits;
    private readonly CheckpointScheduler _checkpoints;
    private readonly ScrubLoop _scrub;
    private readonly ReencryptionLoop _reencryption;
    private readonly Retention.RetentionLoop _retention;
    private readonly ItemOperations _items;
    private readonly TaskLogRedaction _taskLogRedaction;
    private readonly TaskLogs _taskLogs;
    private readonly BlobOperations _blobs;
    private readonly StateReader _reader;
    private readonly ChangeFollower _follower;

    /// <summary>
    /// Creates the service over <paramref name="store"/>. Session logs and reports go to <paramref name="blobs"/>, or
    /// to the store itself when it also implements <see cref="IStateBlobStore"/>.
    /// </summary>
    public StatePersistenceService(StatePersistenceOptions? options, IStateStore store,
        ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null, IMeterFactory? meterFactory = null, IStateBlobStore? blobs = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        StoreClaims.Claim(store, this);
        try
        {
            _options = options ?? new StatePersistenceOptions();
            IReadOnlyList<string> problems = _options.Validate();
            if (problems.Count > 0)
            {
                throw new ArgumentException("Invalid StatePersistence options: " + string.Join(" ", problems), nameof(options));
            }

            _builtWith = SettingsTakenWhenBuilt.Of(_options);

            blobs ??= store as IStateBlobStore ?? throw new ArgumentException(
                $"The store '{store.Location}' keeps no session logs or reports (it does not implement {nameof(IStateBlobStore)}): pass one as '{nameof(blobs)}'.", nameof(blobs));
            TimeProvider time = timeProvider ?? TimeProvider.System;
            Time = time;
            ILogger logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("StatePersistence");
            _store = store;
            _instruments = new StateInstruments(meterFactory, () => _health!.Observe(_commits!.Started ? _commits.Durable : Commit.StateView.Empty));
            _health = new HealthTracker(store, time);
            // The feed position the service's reads already show: on a store of one writer the durable revision (positions
            // are revisions there); on a shared store the position its follower has applied (its own commits get theirs
            // only after they commit). The event log holds the service's own events until the feed reaches it.
            _eventLog = new StateEventLog(_options.EventHistory, () => !_commits!.Started ? 0
                : store is ISharedStateStore ? _follower!.Position : _commits.Durable.Revision,
                store is ISharedStateStore ? () => _commits!.Started ? _commits.Durable.Revision : 0 : null);
            _events = new EventDispatcher(this, store.Location, logger, _instruments, _health, _eventLog, time);
            _commits = new CommitPipeline(store, _options.Durability, logger, _instruments, _events);
            _changeEvents = new ChangeFeedPump(store, _eventLog, _events, time);
            _checkpoints = new CheckpointScheduler(store, _options, time, logger, _commits, _events, _health);
            _scrub = new ScrubLoop(_options, time, _commits, _checkpoints, _events, _instruments);
            _reencryption = new ReencryptionLoop(store as IReencryptingStore, _options, time, _commits, _checkpoints, _events, _instruments);
            _retention = new Retention.RetentionLoop(_options, time, blobs as Retention.IRetentionStore, _events,
                store is Retention.ITaskArchiveStore && store is IStateBlobStore
                    ? (cut, withLogs, ct) => FileStore.Operations.TaskArchives.ArchiveInBackgroundPassAsync(this, cut, withLogs, ct) : null);
            // Built once, from options validated above: a custom pattern that does not compile stopped the constructor.
            var redactor = Redaction.SecretRedactor.Create(_options.Redaction, _instruments.Redactions);
            _taskLogRedaction = new TaskLogRedaction(redactor);
            _items = new ItemOperations(_commits, new ConflictResolution(_options), _taskLogRedaction, time);
            _taskLogs = new TaskLogs(_commits, time, redactor);
            _blobs = new BlobOperations(blobs, store.Location, _options.Durability, _commits, _events, redactor);
            _reader = new StateReader(_commits);
            _follower = new ChangeFollower(store, _commits, _changeEvents, _events, time);
            _commits.CatchUpWithFeed = CatchUpWithFeedAsync;
            store.DamageFound += (_, file) => _events.QuarantinedWhileRunning(file);
        }
        catch
        {
            StoreClaims.Release(store, this);
            throw;
        }
    }

    /// <inheritdoc />
    public RecoveryReport? LastRecovery => _health.LastRecovery;

    /// <inheritdoc />
    public string Location => _store.Location;

    /// <summary>The store the service runs over, for the operator jobs that belong to one kind of store.</summary>
    internal IStateStore Store => _store;

    /// <summary>What the operator jobs in <c>FileStore/Operations/</c> log and raise through.</summary>
    internal EventDispatcher Events => _events;

    /// <summary>The clock the service was given: what names a task archive and judges its tasks' age.</summary>
    internal TimeProvider Time { get; }

    /// <summary>The newest durable state (the operator jobs in <c>FileStore/Operations/</c> decide from it).</summary>
    internal Commit.StateView Durable => _commits.Durable;

    /// <summary>
    /// Over a store other writers share, waits until <see cref="Durable"/> holds every change any of them committed
    /// before this call (the store's feed head, applied by the follower); over a store of one writer every committed
    /// change is in it already. For an operator job that decides from the whole state (which tasks an archive run
    /// takes, whether a restored task exists again), where the feed's usual lag would make it decide on a state
    /// another instance has already changed.
    /// </summary>
    internal async ValueTask CatchUpWithFeedAsync(CancellationToken cancellationToken)
    {
        if (_store is ISharedStateStore shared)
        {
            long head = await shared.ReadFeedHeadAsync(cancellationToken).ConfigureAwait(false);
            await _follower.WaitForPositionAsync(head, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Commits the changes <paramref name="build"/> makes from the latest state as one journaled group (all durable,
    /// or none after a crash); <paramref name="build"/> returning null commits nothing (0 is returned). A failure is
    /// reported as a failed save of <paramref name="kind"/> and thrown as itself.
    /// </summary>
    internal ValueTask<long> CommitGroupAsync<TState>(string kind, Func<Commit.StateView, TState, IReadOnlyList<Commit.StateChange>?> build,
        TState state, CancellationToken cancellationToken) =>
        _commits.CommitAsync(kind, "", build, state, cancellationToken);

    /// <summary>
    /// <see cref="CommitGroupAsync"/> as a background pass commits (and code it shares with one): a failure, reported as
    /// a failed save of <paramref name="kind"/>, is thrown as a <see cref="StatePersistence.Service.Events.ReportedSaveFailure"/>,
    /// which the caller outside the pass unwraps (<see cref="StatePersistence.Service.Events.ReportedSaveFailure.Unwrapped{T}(Task{T})"/>).
    /// </summary>
    internal ValueTask<long> CommitGroupInPassAsync<TState>(string kind, Func<Commit.StateView, TState, IReadOnlyList<Commit.StateChange>?> build,
        TState state, CancellationToken cancellationToken) =>
        _commits.CommitInPassAsync(kind, "", build, state, cancellationToken);

    /// <summary>The options in use.</summary>
    public StatePersistenceOptions Options => _options;

    /// <inheritdoc />
    public long Revision => _commits.Durable.Revision;

    /// <inheritdoc />
    public int TaskCount => _commits.Durable.Tasks.Count;

    /// <inheritdoc />
    public int SessionCount => _commits.Durable.Sessions.Count;

    /// <inheritdoc />
    public ValueTask<PersistedState> LoadStateAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(_reader.LoadState(_health.LastSnapshot));

    /// <inheritdoc />
    public ValueTask WriteStateAsync(Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        return _reader.WriteState(_health.LastSnapshot, destination, cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask<DateTimeOffset> SaveStateAsync(PersistedState state, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(state);
        ThrowIfDisposed();
        StateReplacement replacement = StateReplacement.From(state, _taskLogRedaction);
        // The replacement is a diff against this instance's state: over a shared store that state must hold what the
        // other instances committed before the call, or an item one of them just created would survive it.
        await _commits.CatchUpWithFeedBeforeWriteAsync("state", cancellationToken).ConfigureAwait(false);
        long committed;
        do
        {
            committed = await _commits.CommitAsync("state", "", static (view, r) => r.Diff(view), replacement, cancellationToken).ConfigureAwait(false);
            if (committed != 0)
            {
                break;
            }

            // Nothing to change against the latest state, which may hold saves still being written: once they have
            // their outcome the durable state must match too, or one of them failed and the replacement is made again.
            // Before 2026-12-07 the call returned, the failed save's version was not stored, and neither was the
            // state the caller asked for (RefusalOnPendingSaveTests).
            await _commits.Committer.SettleAsync(cancellationToken).ConfigureAwait(false);
        }
        while (replacement.Diff(_commits.Committer.Durable).Count > 0);

        try
        {
            return await _checkpoints.CheckpointAsync(force: true, cancellationToken).ConfigureAwait(false);
        }
        catch (StatePersistenceException ex) when (committed > 0)
        {
            // The replacement is durable: a plain storage error here would say it was not stored.
            throw new StateSnapshotFailedException(committed, ex);
        }
    }

    /// <inheritdoc />
    public ValueTask<DateTimeOffset> SaveSnapshotAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return _checkpoints.CheckpointAsync(force: true, cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask<(DateTimeOffset LastSaved, bool Written)> SaveSnapshotIfChangedAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        long before = _checkpoints.SnapshotRevision;
        DateTimeOffset savedAt = await _checkpoints.CheckpointAsync(force: false, cancellationToken).ConfigureAwait(false);
        return (savedAt, _checkpoints.SnapshotRevision != before);
    }

    /// <inheritdoc />
    public ValueTask SaveTaskAsync(AgentTask task, CancellationToken cancellationToken = default) =>
        SaveTaskAsync(task, ExpectedRevision.Any, cancellationToken);

    /// <inheritdoc />
    public ValueTask SaveTaskAsync(AgentTask task, ExpectedRevision expected, CancellationToken cancellationToken = default) =>
        _items.SaveAsync(ItemKind<AgentTask>.Tasks, task, expected, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> CreateTaskAsync(AgentTask task, CancellationToken cancellationToken = default) =>
        _items.CreateAsync(ItemKind<AgentTask>.Tasks, task, cancellationToken);

    /// <inheritdoc />
    public ValueTask<AgentTask?> UpdateTaskAsync(string id, Action<AgentTask> update, CancellationToken cancellationToken = default) =>
        UpdateTaskAsync(id, update, ExpectedRevision.Any, cancellationToken);

    /// <inheritdoc />
    public ValueTask<AgentTask?> UpdateTaskAsync(string id, Action<AgentTask> update, ExpectedRevision expected, CancellationToken cancellationToken = default) =>
        _items.UpdateAsync(ItemKind<AgentTask>.Tasks, id, update, expected, cancellationToken);

    /// <inheritdoc />
    public ValueTask<ItemReplacement> ReplaceTaskAsync(AgentTask task, CancellationToken cancellationToken = default) =>
        ReplaceTaskAsync(task, ExpectedRevision.Any, null, cancellationToken);

    /// <inheritdoc />
    public ValueTask<ItemReplacement> ReplaceTaskAsync(AgentTask task, ExpectedRevision expected, Action<AgentTask, bool>? check,
        CancellationToken cancellationToken = default) =>
        _items.ReplaceTaskAsync(task, expected, check, cancellationToken);

    /// <inheritdoc />
    public ValueTask<AgentTask?> AppendTaskLogAsync(string taskId, TaskLogEntry entry, CancellationToken cancellationToken = default) =>
        AppendTaskLogAsync(taskId, entry, null, cancellationToken);

    /// <inheritdoc />
    public ValueTask<AgentTask?> AppendTaskLogAsync(string taskId, TaskLogEntry entry, Action<AgentTask>? check, CancellationToken cancellationToken = default) =>
        _taskLogs.AppendAsync(taskId, entry, check, cancellationToken);

    /// <inheritdoc />
    public ValueTask<AgentTask?> LoadTaskAsync(string id, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(_reader.Load(ItemKind<AgentTask>.Tasks, id));

    /// <inheritdoc />
    public async ValueTask<AgentTask?> WaitForTaskAsync(string id, long revision, CancellationToken cancellationToken = default)
    {
        Ids.StateId.Validate(id, "task");
        ThrowIfDisposed();
        await _commits.Committer.WaitForItemAsync(task: true, id, revision, cancellationToken).ConfigureAwait(false);
        return _reader.Load(ItemKind<AgentTask>.Tasks, id);
    }

    /// <inheritdoc />
    public async ValueTask<AgentTask?> LoadLatestTaskAsync(string id, CancellationToken cancellationToken = default)
    {
        Ids.StateId.Validate(id, "task");
        ThrowIfDisposed();
        await _commits.CatchUpWithStoreAsync(task: true, id, cancellationToken).ConfigureAwait(false);
        return _reader.Load(ItemKind<AgentTask>.Tasks, id);
    }

    /// <inheritdoc />
    public async ValueTask<SessionInfo?> LoadLatestSessionAsync(string id, CancellationToken cancellationToken = default)
    {
        Ids.StateId.Validate(id, "session");
        ThrowIfDisposed();
        await _commits.CatchUpWithStoreAsync(task: false, id, cancellationToken).ConfigureAwait(false);
        return _reader.Load(ItemKind<SessionInfo>.Sessions, id);
    }

    /// <inheritdoc />
    public async ValueTask<SessionInfo?> WaitForSessionAsync(string id, long revision, CancellationToken cancellationToken = default)
    {
        Ids.StateId.Validate(id, "session");
        ThrowIfDisposed();
        await _commits.Committer.WaitForItemAsync(task: false, id, revision, cancellationToken).ConfigureAwait(false);
        return _reader.Load(ItemKind<SessionInfo>.Sessions, id);
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, int> CountTasksByStatus() => _reader.CountByStatus(ItemKind<AgentTask>.Tasks);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<AgentTask>> LoadTasksAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IReadOnlyList<AgentTask>>(_reader.LoadAll(ItemKind<AgentTask>.Tasks));

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<AgentTask>> LoadTasksAsync(string? status, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IReadOnlyList<AgentTask>>(status is null
            ? _reader.LoadAll(ItemKind<AgentTask>.Tasks)
            : _reader.LoadAll(ItemKind<AgentTask>.Tasks, i => i.Status == status));

    /// <inheritdoc />
    public IReadOnlyList<AgentTask> LoadTasksPage(string? status, string? after, int limit) =>
        _reader.Page(ItemKind<AgentTask>.Tasks, after, limit, status);

    /// <inheritdoc />
    public int CountTasks(Querying.TaskQuery query)
    {
        ThrowIfDisposed();
        return TaskQueryRunner.Count(_commits.Durable, query);
    }

    /// <inheritdoc />
    public Querying.TaskPage QueryTasks(Querying.TaskQuery query)
    {
        ThrowIfDisposed();
        return TaskQueryRunner.Run(_commits.Durable, query);
    }

    /// <inheritdoc />
    public ValueTask<Querying.TaskPage> QueryTasksAsync(Querying.TaskQuery query, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return _store is ITaskListingStore listing
            ? TaskQueryRunner.RunAsync(listing, () => _commits.Durable, query, cancellationToken)
            : ValueTask.FromResult(QueryTasks(query));
    }

    /// <inheritdoc />
    public ValueTask<bool> DeleteTaskAsync(string id, CancellationToken cancellationToken = default) =>
        DeleteTaskAsync(id, ExpectedRevision.Any, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> DeleteTaskAsync(string id, ExpectedRevision expected, CancellationToken cancellationToken = default) =>
        _items.DeleteAsync(ItemKind<AgentTask>.Tasks, id, expected, cancellationToken);

    /// <inheritdoc />
    public ValueTask SaveSessionAsync(SessionInfo session, CancellationToken cancellationToken = default) =>
        SaveSessionAsync(session, ExpectedRevision.Any, cancellationToken);

    /// <inheritdoc />
    public ValueTask SaveSessionAsync(SessionInfo session, ExpectedRevision expected, CancellationToken cancellationToken = default) =>
        _items.SaveAsync(ItemKind<SessionInfo>.Sessions, session, expected, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> CreateSessionAsync(SessionInfo session, CancellationToken cancellationToken = default) =>
        _items.CreateAsync(ItemKind<SessionInfo>.Sessions, session, cancellationToken);

    /// <inheritdoc />
    public ValueTask<SessionInfo?> UpdateSessionAsync(string id, Action<SessionInfo> update, CancellationToken cancellationToken = default) =>
        UpdateSessionAsync(id, update, ExpectedRevision.Any, cancellationToken);

    /// <inheritdoc />
    public ValueTask<SessionInfo?> UpdateSessionAsync(string id, Action<SessionInfo> update, ExpectedRevision expected, CancellationToken cancellationToken = default) =>
        _items.UpdateAsync(ItemKind<SessionInfo>.Sessions, id, update, expected, cancellationToken);

    /// <inheritdoc />
    public ValueTask<SessionInfo?> LoadSessionAsync(string id, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(_reader.Load(ItemKind<SessionInfo>.Sessions, id));

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<SessionInfo>> LoadSessionsAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IReadOnlyList<SessionInfo>>(_reader.LoadAll(ItemKind<SessionInfo>.Sessions));

    /// <inheritdoc />
    public IReadOnlyList<SessionInfo> LoadSessionsPage(string? after, int limit) =>
        _reader.Page(ItemKind<SessionInfo>.Sessions, after, limit, null);

    /// <inheritdoc />
    public ValueTask<bool> DeleteSessionAsync(string id, CancellationToken cancellationToken = default) =>
        DeleteSessionAsync(id, ExpectedRevision.Any, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<bool> DeleteSessionAsync(string id, ExpectedRevision expected, CancellationToken cancellationToken = default)
    {
        Ids.StateId.Validate(id, "session");

        // Held over both steps: an append begun meanwhile (to a session created anew under the id once the record is
        // gone) waits for the log's deletion, instead of being deleted by it: this instance's appends at the gate, those
        // of other instances sharing the store at the store's hold.
        using IDisposable deletion = await _blobs.Deletions.BeginAsync(id, cancellationToken).ConfigureAwait(false);
        await using IAsyncDisposable held = await _blobs.HoldAppendsAsync(id, cancellationToken).ConfigureAwait(false);
        bool deleted = await _items.DeleteAsync(ItemKind<SessionInfo>.Sessions, id, expected, cancellationToken).ConfigureAwait(false);

        // The record first: a conditional delete that conflicts must leave the log. Once the record is gone the log
        // goes too, whatever the token says now (a session deleted with its log kept is what this method exists to
        // prevent); should the removal fail, the exception says the session is deleted and a second call finishes it.
        try
        {
            await _blobs.DeleteSessionLogAsync(id, announce: false, CancellationToken.None).ConfigureAwait(false);
        }
        catch (NotSupportedException ex)
        {
            _events.SessionLogsKept(ex.Message);
        }
        catch (Exception ex) when (deleted && ex is not OperationCanceledException)
        {
            throw new Errors.SessionLogNotDeletedException(id, ex);
        }

        return deleted;
    }

    /// <inheritdoc />
    public ValueTask DeleteSessionLogAsync(string sessionId, CancellationToken cancellationToken = default) =>
        _blobs.DeleteSessionLogAsync(sessionId, announce: true, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<bool> DeleteSessionLogIfNoSessionAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        Ids.StateId.Validate(sessionId, "session");
        ThrowIfDisposed();

        // Under a deletion's holds: a session created anew under the id is either seen below, and its log kept, or
        // created after the look, its appends held back until the log is deleted. Looked for in the store, as another
        // instance may have created it. Once decided, the deletion is not left half done.
        using IDisposable deletion = await _blobs.Deletions.BeginAsync(sessionId, cancellationToken).ConfigureAwait(false);
        await using IAsyncDisposable held = await _blobs.HoldAppendsAsync(sessionId, cancellationToken).ConfigureAwait(false);
        if (await LoadLatestSessionAsync(sessionId, cancellationToken).ConfigureAwait(false) is not null)
        {
            return false;
        }

        await _blobs.DeleteSessionLogAsync(sessionId, announce: true, CancellationToken.None).ConfigureAwait(false);
        return true;
    }

    /// <inheritdoc />
    public ValueTask AppendSessionLogAsync(string sessionId, string text, CancellationToken cancellationToken = default) =>
        _blobs.AppendSessionLogAsync(sessionId, text, cancellationToken);

    /// <inheritdoc />
    public ValueTask<string?> ReadSessionLogAsync(string sessionId, CancellationToken cancellationToken = default) =>
        _blobs.ReadSessionLogAsync(sessionId, cancellationToken);

    /// <inheritdoc />
    public ValueTask<ISessionLogReader?> OpenSessionLogAsync(string sessionId, CancellationToken cancellationToken = default) =>
        _blobs.OpenSessionLogAsync(sessionId, cancellationToken);

    /// <inheritdoc />
    public ValueTask<long> SessionLogSizeAsync(string sessionId, CancellationToken cancellationToken = default) =>
        _blobs.SessionLogSizeAsync(sessionId, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> SessionLogExistsAsync(string sessionId, CancellationToken cancellationToken = default) =>
        _blobs.SessionLogExistsAsync(sessionId, cancellationToken);

    /// <inheritdoc />
    public ValueTask<string> SaveReportAsync(string reportId, JsonElement report, CancellationToken cancellationToken = default) =>
        _blobs.SaveReportAsync(reportId, report, cancellationToken);

    /// <inheritdoc />
    public ValueTask<JsonElement?> LoadReportAsync(string reportId, CancellationToken cancellationToken = default) =>
        _blobs.LoadReportAsync(reportId, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<string>> ListReportsAsync(CancellationToken cancellationToken = default) =>
        _blobs.ListReportsAsync(cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<string>> ListReportsAsync(string? after, int limit, CancellationToken cancellationToken = default) =>
        _blobs.ListReportsAsync(after, limit, cancellationToken);

    /// <inheritdoc />
    public ValueTask<long> CountReportsAsync(CancellationToken cancellationToken = default) =>
        _blobs.CountReportsAsync(cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<StateEvent> ReadEventsAsync(StateEventPosition? after = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return _commits.Started
            ? _eventLog.ReadAsync(after, cancellationToken)
            : throw new InvalidOperationException($"The persistence service for '{Location}' is not started: call StartAsync first.");
    }

    /// <summary>The feed position the event stream has reached (it follows the store's feed, behind the saves).</summary>
    internal long EventsFeedPosition => _eventLog.FeedPosition;

    /// <summary>Over a shared store, the deletions this instance still remembers (<see cref="Commit.SharedTombstones"/>).</summary>
    internal int SharedTombstoneCount => _commits.Committer.TombstoneCount;

    /// <inheritdoc />
    public StateMetrics GetMetrics()
    {
        ThrowIfDisposed();
        return MetricsCalculator.Compute(_commits.Durable.Tasks.Values);
    }

    /// <inheritdoc />
    public StateHealth CheckHealth(long lowDiskSpaceBytes = 100L * 1024 * 1024) =>
        _commits.Disposed ? _health.ShutDown(_commits.Started ? _commits.Durable : Commit.StateView.Empty, _commits.DisposedMessage)
        // Not started (or its start failed): it holds no state and saves nothing, which is Unhealthy, not an exception
        // (the hosting health check asks before the host has started it).
        : !_commits.Started ? _health.ShutDown(Commit.StateView.Empty,
            $"The persistence service for '{Location}' is not running: it is not started (StartAsync has not run, or failed), so it holds no state and saves nothing.")
        : _health.Check(_commits.Durable, lowDiskSpaceBytes);

    /// <inheritdoc />
    public event EventHandler<StateSavedEventArgs>? StateSaved { add => _events.StateSaved += value; remove => _events.StateSaved -= value; }

    /// <inheritdoc />
    public event EventHandler<StateLoadedEventArgs>? StateLoaded { add => _events.StateLoaded += value; remove => _events.StateLoaded -= value; }

    /// <inheritdoc />
    public event EventHandler<StateSaveErrorEventArgs>? StateSaveError { add => _events.StateSaveError += value; remove => _events.StateSaveError -= value; }

    /// <inheritdoc />
    public event EventHandler<AutosaveTriggeredEventArgs>? AutosaveTriggered { add => _events.AutosaveTriggered += value; remove => _events.AutosaveTriggered -= value; }

    /// <inheritdoc />
    public event EventHandler<ShutdownSaveEventArgs>? ShutdownSaved { add => _events.ShutdownSaved += value; remove => _events.ShutdownSaved -= value; }

    /// <inheritdoc />
    public event EventHandler<CorruptionDetectedEventArgs>? CorruptionDetected { add => _events.CorruptionDetected += value; remove => _events.CorruptionDetected -= value; }

    /// <inheritdoc />
    public event EventHandler<StateRecoveredEventArgs>? StateRecovered { add => _events.StateRecovered += value; remove => _events.StateRecovered -= value; }

    /// <inheritdoc />
    public event EventHandler<RemoteChangesAppliedEventArgs>? RemoteChangesApplied { add => _events.RemoteChangesApplied += value; remove => _events.RemoteChangesApplied -= value; }

    /// <summary>One pass of the retention policy, as the background loop runs it (the crash tests drive it so, the timer off).</summary>
    internal Task RunRetentionOnceAsync(CancellationToken cancellationToken = default) => _retention.RunOnceAsync(cancellationToken);

    /// <summary>The background re-encryption's steps finished so far (<see cref="ReencryptionLoop.StepsCompleted"/>).</summary>
    internal long ReencryptionStepsCompleted => _reencryption.StepsCompleted;

    /// <summary>Runs the background re-encryption's steps until nothing is left under another key (the crash tests drive it so).</summary>
    internal Task<int> ReencryptToEndAsync(CancellationToken cancellationToken = default) => _reencryption.RunToEndAsync(cancellationToken);

    private void ThrowIfDisposed() => _commits.ThrowIfDisposed();
}
