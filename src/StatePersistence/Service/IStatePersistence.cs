using System.Text.Json;
using StatePersistence.Diagnostics;
using StatePersistence.Model;
using StatePersistence.Recovery;
using StatePersistence.Storage;

namespace StatePersistence;

/// <summary>
/// The seed's persistence API: an agent server's tasks, sessions, session logs, reports and whole state, saved so
/// they survive restarts, crashes, kill -9 and power loss. Every save returns only once it is durable
/// (under the default <see cref="Storage.Durability.Full"/>); reads see only durable data. Once disposal has begun,
/// every read and write throws <see cref="ObjectDisposedException"/> naming the location.
/// </summary>
public interface IStatePersistence : IAsyncDisposable
{
    /// <summary>What start-up recovery used and found; null before <see cref="StartAsync"/>.</summary>
    RecoveryReport? LastRecovery { get; }

    /// <summary>The state directory (or other location) in use.</summary>
    string Location { get; }

    /// <summary>The revision of the newest durable change (the store's commit position).</summary>
    long Revision { get; }

    /// <summary>How many tasks the newest durable state holds; O(1), for quotas and gauges.</summary>
    int TaskCount { get; }

    /// <summary>How many sessions the newest durable state holds; O(1).</summary>
    int SessionCount { get; }

    /// <summary>
    /// Opens the store and recovers the state (raising <see cref="StateLoaded"/>, and <see cref="CorruptionDetected"/>
    /// and <see cref="StateRecovered"/> when corruption was found), then starts the autosave. A service starts once:
    /// again, it throws <see cref="InvalidOperationException"/>; once disposed, <see cref="ObjectDisposedException"/>
    /// naming the location, and nothing is opened. <paramref name="cancellationToken"/> is heeded until recovery begins
    /// to change anything (<see cref="OperationCanceledException"/>, the store left as it was and released); from there
    /// the open runs to its end, so a recovery is never left half done.
    /// </summary>
    Task StartAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Up to <paramref name="limit"/> tasks whose id sorts after <paramref name="after"/> (ordinal; from the first
    /// when null), with status <paramref name="status"/> when given, ordered by id. Only the page is deserialized.
    /// A <paramref name="limit"/> below 1 throws <see cref="ArgumentOutOfRangeException"/>; none is too large (the
    /// caller bounds it, as the server does at 1000).
    /// </summary>
    IReadOnlyList<AgentTask> LoadTasksPage(string? status, string? after, int limit);

    /// <summary>
    /// How many tasks match <paramref name="query"/>'s filters (status, tool, <c>updated_at</c>, search; its order,
    /// cursor and limit aside), counted from this instance's state without deserializing any task: the total a paged
    /// view shows beside its page. A bad query throws <see cref="Errors.StateValidationException"/> as <see cref="QueryTasks"/> does.
    /// </summary>
    int CountTasks(Querying.TaskQuery query);

    /// <summary>
    /// One page of tasks filtered by status, tool, <c>updated_at</c> and a search, in the query's order, after the query's cursor;
    /// <see cref="Querying.TaskPage.Next"/> continues it. A page never holds more than <see cref="Querying.TaskQuery.MaxLimit"/>
    /// tasks; a bad limit or cursor throws <see cref="Errors.StateValidationException"/> naming the field.
    /// </summary>
    Querying.TaskPage QueryTasks(Querying.TaskQuery query);

    /// <summary>
    /// <see cref="QueryTasks"/> answered by the store from its own indexes when it offers that
    /// (<see cref="Storage.ITaskListingStore"/>: the PostgreSQL store), otherwise from this instance's state as
    /// <see cref="QueryTasks"/> does. A store's answer is as current as the store: on several instances it may already
    /// hold another instance's change this one has not applied yet. A store failure throws
    /// <see cref="Errors.StateStorageException"/>.
    /// </summary>
    ValueTask<Querying.TaskPage> QueryTasksAsync(Querying.TaskQuery query, CancellationToken cancellationToken = default);

    /// <summary>
    /// Up to <paramref name="limit"/> sessions whose id sorts after <paramref name="after"/>, ordered by id; a
    /// <paramref name="limit"/> below 1 throws <see cref="ArgumentOutOfRangeException"/>.
    /// </summary>
    IReadOnlyList<SessionInfo> LoadSessionsPage(string? after, int limit);

    /// <summary>
    /// Writes a snapshot (with its backup) unless nothing changed since the last one; returns its <c>last_saved</c>
    /// and whether one was written. Repeated calls then cannot push real history out of the kept backups.
    /// </summary>
    ValueTask<(DateTimeOffset LastSaved, bool Written)> SaveSnapshotIfChangedAsync(CancellationToken cancellationToken = default);

    /// <summary>The current state: all tasks, sessions, metrics and the application's own properties.</summary>
    ValueTask<PersistedState> LoadStateAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes the current state to <paramref name="destination"/> as the JSON <see cref="LoadStateAsync"/>'s result
    /// serializes to, without materializing it: the tasks and sessions are copied from their stored bytes, a chunk at a
    /// time, so the memory a call holds does not grow with the state (an export of a large state, as
    /// <c>GET /api/state</c> serves it). The state is the one durable view taken when the call begins.
    /// </summary>
    ValueTask WriteStateAsync(Stream destination, CancellationToken cancellationToken = default);

    /// <summary>
    /// Replaces the whole state with <paramref name="state"/> (tasks and sessions it does not list are deleted) as
    /// one atomic change, then writes a snapshot. The tasks' log messages are redacted as <see cref="SaveTaskAsync(AgentTask, CancellationToken)"/>
    /// redacts them (when <c>Redaction</c> is on; <paramref name="state"/> itself is not changed). Returns the snapshot's <c>last_saved</c>. When the change was
    /// committed but the snapshot failed, throws <see cref="Errors.StateSnapshotFailedException"/>: the change is
    /// stored (a plain <see cref="Errors.StateStorageException"/> means it is not).
    /// </summary>
    ValueTask<DateTimeOffset> SaveStateAsync(PersistedState state, CancellationToken cancellationToken = default);

    /// <summary>Writes a snapshot of the current state now (with its backup); returns its <c>last_saved</c>.</summary>
    ValueTask<DateTimeOffset> SaveSnapshotAsync(CancellationToken cancellationToken = default);

    /// <summary>Creates or replaces a task; durable when it returns.</summary>
    ValueTask SaveTaskAsync(AgentTask task, CancellationToken cancellationToken = default);

    /// <summary>
    /// Creates or replaces a task if it is at <paramref name="expected"/> (a revision, or absent); otherwise throws
    /// <see cref="Errors.StateConflictException"/> carrying the task as it is, and writes nothing.
    /// </summary>
    ValueTask SaveTaskAsync(AgentTask task, ExpectedRevision expected, CancellationToken cancellationToken = default);

    /// <summary>Creates a task unless one with its id exists; returns false (and writes nothing) when it does.</summary>
    ValueTask<bool> CreateTaskAsync(AgentTask task, CancellationToken cancellationToken = default);

    /// <summary>
    /// Changes a task atomically with respect to other saves: <paramref name="update"/> gets the newest version and
    /// changes it in place. Returns the saved task, or null when there is none with that id. The callback must be
    /// quick and must not block; it may throw to abort (nothing is written). It runs outside the store's commit lock
    /// and may run more than once: when another save changes the task between the read and the commit, the change is
    /// made again on the newer version (so concurrent updates never lose each other's changes), and only the last
    /// run's result is stored. Keep it free of side effects other than on the task it is given.
    /// </summary>
    ValueTask<AgentTask?> UpdateTaskAsync(string id, Action<AgentTask> update, CancellationToken cancellationToken = default);

    /// <summary>
    /// Like <see cref="UpdateTaskAsync(string, Action{AgentTask}, CancellationToken)"/>, only if the task is at
    /// <paramref name="expected"/>; otherwise throws <see cref="Errors.StateConflictException"/> (with the current task,
    /// or null when there is none) before <paramref name="update"/> runs.
    /// </summary>
    ValueTask<AgentTask?> UpdateTaskAsync(string id, Action<AgentTask> update, ExpectedRevision expected, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores <paramref name="task"/> whole in place of the task with its id, or creates it when there is none, in one
    /// atomic step: a save that says what it did. A task without <c>created_at</c> keeps the one of the task it
    /// replaces; created (or replacing one without it), it gets its own <c>updated_at</c>, or the time of the write
    /// when it has none either. Everything else is stored as given, fields the application adds included (the caller's
    /// object is not changed). Returns the revision, whether the task was created, and the task's JSON as stored.
    /// </summary>
    ValueTask<ItemReplacement> ReplaceTaskAsync(AgentTask task, CancellationToken cancellationToken = default);

    /// <summary>
    /// Like <see cref="ReplaceTaskAsync(AgentTask, CancellationToken)"/>, only if the task is at
    /// <paramref name="expected"/> (<see cref="ExpectedRevision.Absent"/>: create only); otherwise throws
    /// <see cref="Errors.StateConflictException"/>, or resolves the conflict as the conflict policy says.
    /// <paramref name="check"/>, when given, gets the task as it would be stored and whether the write creates it,
    /// before anything is written: it may throw to refuse the write (nothing is written); changes it makes to the task
    /// are not stored. It must be quick and must not block, and may run more than once (as an update does).
    /// </summary>
    ValueTask<ItemReplacement> ReplaceTaskAsync(AgentTask task, ExpectedRevision expected, Action<AgentTask, bool>? check,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends one entry to a task's <c>logs</c> atomically and durably, journaling only the entry (not the whole
    /// task), so an append costs the same however long the log is. The task's <c>updated_at</c> becomes the entry's
    /// timestamp; an entry without one is stamped with the current time (the caller's object is not changed).
    /// Returns the updated task, or null when there is none with that id.
    /// </summary>
    ValueTask<AgentTask?> AppendTaskLogAsync(string taskId, TaskLogEntry entry, CancellationToken cancellationToken = default);

    /// <summary>
    /// Like <see cref="AppendTaskLogAsync(string, TaskLogEntry, CancellationToken)"/>, calling <paramref name="check"/>
    /// with the task as it would be stored before anything is written: it may throw to refuse the append (nothing is
    /// written); changes it makes to the task are not stored. It must be quick and must not block.
    /// </summary>
    ValueTask<AgentTask?> AppendTaskLogAsync(string taskId, TaskLogEntry entry, Action<AgentTask>? check,
        CancellationToken cancellationToken = default);

    /// <summary>Loads a task, or null when there is none with that id.</summary>
    ValueTask<AgentTask?> LoadTaskAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>
    /// Read-your-writes across instances: waits until this instance has applied task <paramref name="id"/> at
    /// <paramref name="revision"/> or later (or its deletion after it), then loads it. A client that wrote on another
    /// instance of a shared store and got revision R back sends R here. Waits until <paramref name="cancellationToken"/>
    /// is cancelled when that revision never comes (give it a timeout); a wait still pending when the service is disposed
    /// ends with <see cref="ObjectDisposedException"/>.
    /// </summary>
    ValueTask<AgentTask?> WaitForTaskAsync(string id, long revision, CancellationToken cancellationToken = default);

    /// <summary>
    /// Loads a task as the store holds it now: over a store several instances share, first asks the store for the
    /// task's revision (one read of the database) and waits until this instance has applied it, so a task another
    /// instance has just created or changed is found, and one it has just deleted is not (null); with one writer the
    /// same as <see cref="LoadTaskAsync"/>. For a decision a write depends on ("does it exist?"); plain reads use
    /// <see cref="LoadTaskAsync"/>.
    /// </summary>
    ValueTask<AgentTask?> LoadLatestTaskAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>
    /// How many tasks have each status (a task without one is counted under the empty string; a status no task has
    /// is absent), counted from the fields kept beside each stored task: no task is deserialized, so the cost is a
    /// walk of the state's index, not of its bytes.
    /// </summary>
    IReadOnlyDictionary<string, int> CountTasksByStatus();

    /// <summary>Loads all tasks, ordered by id.</summary>
    ValueTask<IReadOnlyList<AgentTask>> LoadTasksAsync(CancellationToken cancellationToken = default);

    /// <summary>Loads the tasks whose status is <paramref name="status"/> (all when null), ordered by id.</summary>
    ValueTask<IReadOnlyList<AgentTask>> LoadTasksAsync(string? status, CancellationToken cancellationToken = default);

    /// <summary>Deletes a task; returns false when there was none. A deleted task never comes back after a crash.</summary>
    ValueTask<bool> DeleteTaskAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Deletes a task only if it is at <paramref name="expected"/>; otherwise throws <see cref="Errors.StateConflictException"/>.</summary>
    ValueTask<bool> DeleteTaskAsync(string id, ExpectedRevision expected, CancellationToken cancellationToken = default);

    /// <summary>Creates or replaces a session; durable when it returns.</summary>
    ValueTask SaveSessionAsync(SessionInfo session, CancellationToken cancellationToken = default);

    /// <summary>Creates or replaces a session if it is at <paramref name="expected"/>; see <see cref="SaveTaskAsync(AgentTask, ExpectedRevision, CancellationToken)"/>.</summary>
    ValueTask SaveSessionAsync(SessionInfo session, ExpectedRevision expected, CancellationToken cancellationToken = default);

    /// <summary>Creates a session unless one with its id exists; returns false when it does.</summary>
    ValueTask<bool> CreateSessionAsync(SessionInfo session, CancellationToken cancellationToken = default);

    /// <summary>Changes a session atomically; see <see cref="UpdateTaskAsync(string, Action{AgentTask}, CancellationToken)"/>.</summary>
    ValueTask<SessionInfo?> UpdateSessionAsync(string id, Action<SessionInfo> update, CancellationToken cancellationToken = default);

    /// <summary>Changes a session atomically if it is at <paramref name="expected"/>; see <see cref="UpdateTaskAsync(string, Action{AgentTask}, ExpectedRevision, CancellationToken)"/>.</summary>
    ValueTask<SessionInfo?> UpdateSessionAsync(string id, Action<SessionInfo> update, ExpectedRevision expected, CancellationToken cancellationToken = default);

    /// <summary>Like <see cref="WaitForTaskAsync"/>, for a session.</summary>
    ValueTask<SessionInfo?> WaitForSessionAsync(string id, long revision, CancellationToken cancellationToken = default);

    /// <summary>Like <see cref="LoadLatestTaskAsync"/>, for a session.</summary>
    ValueTask<SessionInfo?> LoadLatestSessionAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Loads a session, or null.</summary>
    ValueTask<SessionInfo?> LoadSessionAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Loads all sessions, ordered by id.</summary>
    ValueTask<IReadOnlyList<SessionInfo>> LoadSessionsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes a session and then its log (<see cref="DeleteSessionLogAsync"/>); returns false when there was no session
    /// (its log, if one was left, is deleted all the same: a call that failed or crashed between the two is finished by
    /// calling it again). A store that cannot delete logs keeps it, and a Warning says so once.
    /// </summary>
    ValueTask<bool> DeleteSessionAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes a session only if it is at <paramref name="expected"/>, then its log; otherwise throws
    /// <see cref="Errors.StateConflictException"/> and deletes nothing.
    /// </summary>
    ValueTask<bool> DeleteSessionAsync(string id, ExpectedRevision expected, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes a session's whole log (rotated parts included), durably when it returns, and leaves the session; a
    /// session with no log is not an error. The next append starts a new log. Raises <c>session:log-deleted</c>, so a
    /// reader tailing the log starts again. A store that cannot delete logs throws <see cref="NotSupportedException"/>.
    /// </summary>
    ValueTask DeleteSessionLogAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes a session's log as <see cref="DeleteSessionLogAsync"/> does, but only while there is no session with the
    /// id (asked of the store, so another instance's session counts); returns whether it deleted. For text appended to
    /// the log of a session deleted meanwhile: appends wait as for a <see cref="DeleteSessionAsync(string, CancellationToken)"/>,
    /// so a session created anew under the id keeps what is appended to its log.
    /// </summary>
    ValueTask<bool> DeleteSessionLogIfNoSessionAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>Appends text to <c>logs/session_&lt;id&gt;.log</c>; durable when it returns.</summary>
    ValueTask AppendSessionLogAsync(string sessionId, string text, CancellationToken cancellationToken = default);

    /// <summary>Reads a session's whole log, or null when it has none.</summary>
    ValueTask<string?> ReadSessionLogAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Opens a session's log to send it, whole or a byte range of its text, in bounded memory (an append at a time,
    /// each verified), with its length known before a byte is sent; null when it has none. Dispose the reader when
    /// done. <see cref="ReadSessionLogAsync"/> reads the whole text into memory.
    /// </summary>
    ValueTask<Storage.ISessionLogReader?> OpenSessionLogAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>The bytes the store holds for a session's log (its framing included), 0 when none; for quotas.</summary>
    ValueTask<long> SessionLogSizeAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Whether the session has a log (rotated parts included; what <see cref="ReadSessionLogAsync"/> reads as null is
    /// none), without reading its text where the store can (<see cref="Storage.IStateBlobStore.SessionLogExistsAsync"/>).
    /// The default, for an implementation written before this member (a decorator, a fake), answers through members it
    /// already has, as <see cref="Storage.IStateBlobStore.SessionLogExistsAsync"/>'s default does: a live log's size
    /// above 0 is a log; at 0 the log is opened (<see cref="OpenSessionLogAsync"/>, which is null when there is none),
    /// which may read and decode its appends (a log all in rotated parts, or only empty appends).
    /// </summary>
    async ValueTask<bool> SessionLogExistsAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        if (await SessionLogSizeAsync(sessionId, cancellationToken).ConfigureAwait(false) > 0)
        {
            return true;
        }

        Storage.ISessionLogReader? log = await OpenSessionLogAsync(sessionId, cancellationToken).ConfigureAwait(false);
        if (log is null)
        {
            return false;
        }

        await log.DisposeAsync().ConfigureAwait(false);
        return true;
    }

    /// <summary>Saves a report as <c>reports/report_&lt;id&gt;.json</c> (replacing one with the same id); returns its path.</summary>
    ValueTask<string> SaveReportAsync(string reportId, JsonElement report, CancellationToken cancellationToken = default);

    /// <summary>Loads a report, or null when there is none.</summary>
    ValueTask<JsonElement?> LoadReportAsync(string reportId, CancellationToken cancellationToken = default);

    /// <summary>The ids of all reports, sorted.</summary>
    ValueTask<IReadOnlyList<string>> ListReportsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// One page of the report ids: those after <paramref name="after"/> in ordinal order (from the first when null), at
    /// most <paramref name="limit"/> (at least 1). The file and PostgreSQL stores answer from an index, so a page costs
    /// the same however many reports there are.
    /// </summary>
    ValueTask<IReadOnlyList<string>> ListReportsAsync(string? after, int limit, CancellationToken cancellationToken = default);

    /// <summary>How many reports are stored (kept by the store, not counted from a listing).</summary>
    ValueTask<long> CountReportsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// The state's events as they happen: task and session changes from the store's change feed (whoever made them),
    /// and the service's own (<c>state:saved</c>, <c>state:loaded</c>, <c>state:save-error</c>, <c>autosave:triggered</c>,
    /// <c>report:saved</c>, <c>session:log</c>, <c>session:log-deleted</c>). With <paramref name="after"/> null it starts now; with the
    /// <see cref="Events.StateEvent.Position"/> of an event it resumes right after it with nothing missed, or, when that
    /// is no longer possible (older than the <see cref="StatePersistenceOptions.EventHistory"/> held, or another
    /// process's stream that cannot be continued), starts with a <see cref="Events.StateEventTypes.Reset"/> event: reload
    /// the state, then go on. Runs until <paramref name="cancellationToken"/> is cancelled, or until the service is
    /// disposed: the stream then completes after its last event, the shutdown's own included (the final snapshot's
    /// <c>state:saved</c>). Called once disposal has begun, it throws <see cref="ObjectDisposedException"/>.
    /// </summary>
    IAsyncEnumerable<Events.StateEvent> ReadEventsAsync(Events.StateEventPosition? after = null, CancellationToken cancellationToken = default);

    /// <summary>The seed's metrics, derived from the current tasks.</summary>
    StateMetrics GetMetrics();

    /// <summary>
    /// Checks health: the directory, a probe write, free space, the last save and the last error. Once disposal has
    /// begun it is Unhealthy, its reason saying the service is shut down, and the store is not probed any more (its
    /// fields are empty: <see cref="StateHealth.StateDirExists"/> and <see cref="StateHealth.Writable"/> false).
    /// </summary>
    StateHealth CheckHealth(long lowDiskSpaceBytes = 100L * 1024 * 1024);

    /// <summary>Raised after a durable save (snapshot, task, session, report).</summary>
    event EventHandler<StateSavedEventArgs>? StateSaved;

    /// <summary>Raised once the state is loaded at start-up.</summary>
    event EventHandler<StateLoadedEventArgs>? StateLoaded;

    /// <summary>Raised when a save fails.</summary>
    event EventHandler<StateSaveErrorEventArgs>? StateSaveError;

    /// <summary>Raised when the autosave timer finds changes to snapshot.</summary>
    event EventHandler<AutosaveTriggeredEventArgs>? AutosaveTriggered;

    /// <summary>Raised after the final snapshot at shutdown.</summary>
    event EventHandler<ShutdownSaveEventArgs>? ShutdownSaved;

    /// <summary>Raised for every corrupt file moved aside.</summary>
    event EventHandler<CorruptionDetectedEventArgs>? CorruptionDetected;

    /// <summary>Raised when start-up recovery found corruption or loss, with its report.</summary>
    event EventHandler<StateRecoveredEventArgs>? StateRecovered;

    /// <summary>
    /// Raised over a store other writers share (<see cref="Storage.ISharedStateStore"/>, several instances on one
    /// database) for each group of changes another instance committed, once this instance's reads return them.
    /// </summary>
    event EventHandler<RemoteChangesAppliedEventArgs>? RemoteChangesApplied;
}
