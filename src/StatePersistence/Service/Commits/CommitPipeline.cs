using System.Collections.Immutable;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using StatePersistence.Commit;
using StatePersistence.Diagnostics;
using StatePersistence.Errors;
using StatePersistence.Serialization;
using StatePersistence.Service.Events;
using StatePersistence.Storage;

namespace StatePersistence.Service.Commits;

/// <summary>
/// The path of every change: a builder turns the latest state into changes, the <see cref="GroupCommitter"/> orders
/// them and has the store commit them in groups, and the caller returns once its change is durable (logged,
/// counted and raised as <see cref="IStatePersistence.StateSaved"/>, or as a save error).
/// </summary>
internal sealed class CommitPipeline(IStateStore store, Durability durability, ILogger logger, StateInstruments instruments, EventDispatcher events)
{
    private GroupCommitter? _committer;
    private int _disposed;

    public bool Started => _committer is not null;

    /// <summary>
    /// Told, after each commit became durable, how many bytes of JSON it journaled (what a checkpoint by journal size
    /// counts: <see cref="Checkpoints.CheckpointScheduler"/>).
    /// </summary>
    public Action<long>? Committed { get; set; }

    /// <summary>
    /// Asked before each commit: an error refuses it before anything is enqueued (the write stall of
    /// <see cref="Checkpoints.JournalGrowth"/>), null lets it through.
    /// </summary>
    public Func<Exception?>? Admission { get; set; }

    public GroupCommitter Committer => _committer ?? throw new InvalidOperationException(
        $"The persistence service for '{store.Location}' is not started: call StartAsync first.");

    /// <summary>The acknowledged state every read comes from.</summary>
    public StateView Durable => Committer.Durable;

    /// <summary>Refuses reads and writes from now on (the service is being disposed).</summary>
    public void MarkDisposed() => Volatile.Write(ref _disposed, 1);

    public bool Disposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>What a disposed service answers: the error of every call, the reason of its health.</summary>
    public string DisposedMessage => $"The persistence service for '{store.Location}' is disposed (shut down): it neither saves nor reads any more.";

    public void ThrowIfDisposed()
    {
        if (Disposed)
        {
            throw new ObjectDisposedException(nameof(StatePersistenceService), DisposedMessage);
        }
    }

    /// <summary>Whether other writers share the store, so this instance's view may trail the store's.</summary>
    public bool Shared => store is ISharedStateStore;

    /// <summary>
    /// Over a shared store, waits until this instance has applied the store's feed up to its head (the follower's
    /// work, which the service owns): what <see cref="CatchUpWithStoreAsync"/> waits for when the store holds none of
    /// an item this instance still holds. Set by the service at start.
    /// </summary>
    public Func<CancellationToken, ValueTask>? CatchUpWithFeed { get; set; }

    /// <summary>
    /// Over a shared store, when the store holds the task (<paramref name="task"/>) or session <paramref name="id"/> at
    /// a revision this instance has not applied yet (another instance's change still on its way through the feed),
    /// waits until the feed has applied it and returns true: the caller decides again on the newer item. The same when
    /// the store holds none but this instance still does (another instance deleted it a moment ago): waits until the
    /// feed has brought the deletion. False when this instance already holds what the store does, or the store has one
    /// writer. One read of the store, so callers ask only before answering "not found" or "not at the expected
    /// revision" from their own state (<see cref="CatchUpIfUnmetHereAsync"/>), never on the common path.
    /// </summary>
    public async ValueTask<bool> CatchUpWithStoreAsync(bool task, string id, CancellationToken cancellationToken)
    {
        if (store is not ISharedStateStore shared)
        {
            return false;
        }

        long? stored = await shared.ReadItemRevisionAsync(task, id, cancellationToken).ConfigureAwait(false);
        StateView latest = Committer.Latest;
        StoredItem? held = (task ? latest.Tasks : latest.Sessions).GetValueOrDefault(id);
        if (stored is null)
        {
            if (held is null || CatchUpWithFeed is not { } catchUpWithFeed)
            {
                return false;
            }

            await catchUpWithFeed(cancellationToken).ConfigureAwait(false);
            return true;
        }

        if (held?.Revision >= stored)
        {
            return false;
        }

        await Committer.WaitForItemAsync(task, id, stored.Value, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Before a write (of <paramref name="kind"/>) of the task (<paramref name="task"/>) or session
    /// <paramref name="id"/> expecting <paramref name="expected"/> is decided on this instance's latest state: over a
    /// shared store, when that state lacks the item or does not meet the expectation (the write would be answered "not
    /// found" or refused), catches up with the store first (<see cref="CatchUpBeforeWriteAsync"/>), so that answer is
    /// the store's, never a copy trailing another instance's change. Nothing on the common path: no read of the store
    /// when the state meets it.
    /// </summary>
    public async ValueTask CatchUpIfUnmetHereAsync(string kind, bool task, string id, ExpectedRevision expected, CancellationToken cancellationToken)
    {
        if (!Shared)
        {
            return;
        }

        StateView latest = Committer.Latest;
        StoredItem? current = (task ? latest.Tasks : latest.Sessions).GetValueOrDefault(id);
        if (current is null || !expected.IsMetBy(current.Revision))
        {
            await CatchUpBeforeWriteAsync(kind, task, id, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// <see cref="CatchUpWithStoreAsync"/> for a write of <paramref name="kind"/>: the store's read is the write's
    /// first step, so its failure (the database down) is the write's, reported as a failed commit is
    /// (<see cref="ReportFailedCatchUp"/>).
    /// </summary>
    public async ValueTask<bool> CatchUpBeforeWriteAsync(string kind, bool task, string id, CancellationToken cancellationToken)
    {
        try
        {
            return await CatchUpWithStoreAsync(task, id, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsFailure(ex, cancellationToken))
        {
            ReportFailedCatchUp(kind, ex);
            throw;
        }
    }

    /// <summary>
    /// <see cref="GroupCommitter.WaitForItemAsync"/> for a write of <paramref name="kind"/> that the store refused and
    /// that decides again once this instance holds the newer item; a failed read of the store there fails the write,
    /// reported as a failed commit is (<see cref="ReportFailedCatchUp"/>).
    /// </summary>
    public async ValueTask WaitForItemBeforeWriteAsync(string kind, bool task, string id, long revision, CancellationToken cancellationToken)
    {
        try
        {
            await Committer.WaitForItemAsync(task, id, revision, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsFailure(ex, cancellationToken))
        {
            ReportFailedCatchUp(kind, ex);
            throw;
        }
    }

    /// <summary>
    /// Over a shared store, <see cref="CatchUpWithFeed"/> for a write of <paramref name="kind"/> decided on the whole
    /// state (a state replacement); a failed read of the store fails the write, reported as a failed commit is
    /// (<see cref="ReportFailedCatchUp"/>).
    /// </summary>
    public async ValueTask CatchUpWithFeedBeforeWriteAsync(string kind, CancellationToken cancellationToken)
    {
        if (!Shared || CatchUpWithFeed is not { } catchUpWithFeed)
        {
            return;
        }

        try
        {
            await catchUpWithFeed(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsFailure(ex, cancellationToken))
        {
            ReportFailedCatchUp(kind, ex);
            throw;
        }
    }

    /// <summary>
    /// Reports the failed catch-up of a write of <paramref name="kind"/> as a commit reports a failed
    /// commit (logged, counted in <c>statepersistence.save.failures</c>, raised as <c>StateSaveError</c>, the health
    /// marked failed), once: the caller rethrows it, and the write it fails never reaches a commit that would report
    /// it again.
    /// </summary>
    private void ReportFailedCatchUp(string kind, Exception error) => events.SaveFailed("save-" + kind, store.Location, error);

    /// <summary>
    /// Whether a catch-up's exception is a failure to report: a cancellation is the caller's only while the caller's
    /// token is cancelled (<see cref="CallerCancellation.IsFailure"/>), and the end of every wait at shutdown
    /// (<see cref="GroupCommitter.EndWaits"/>) is no failed save. Before 2026-12-07 every cancellation was taken for the
    /// caller's: a read of the store that timed out (Npgsql's or a codec's <c>HttpClient</c> throws
    /// <see cref="TaskCanceledException"/>) failed the write unreported (CatchUpCancelledByItsStoreTests).
    /// </summary>
    private static bool IsFailure(Exception error, CancellationToken callers) =>
        CallerCancellation.IsFailure(error, callers) && error is not ObjectDisposedException;

    public void Start(StateView recovered, int tombstonesKept) =>
        _committer = new GroupCommitter(store, recovered, ItemCodec.ToItem, Conflict, instruments, tombstonesKept);

    /// <summary>
    /// Enqueues a commit built from the latest state and waits until it is durable. Returns the revision it was
    /// committed at, or 0 when the builder decided there was nothing to commit. A failure is reported as a failed save
    /// of <paramref name="kind"/> and thrown as itself.
    /// </summary>
    public ValueTask<long> CommitAsync<TState>(string kind, string id,
        Func<StateView, TState, IReadOnlyList<StateChange>?> build, TState state, CancellationToken cancellationToken) =>
        ReportedSaveFailure.Unwrapped(CommitInPassAsync(kind, id, build, state, cancellationToken));

    /// <summary>
    /// <see cref="CommitAsync{TState}(string, string, Func{StateView, TState, IReadOnlyList{StateChange}}, TState, CancellationToken)"/>
    /// as a background pass commits: a failure reported here is thrown as a <see cref="ReportedSaveFailure"/>, which the
    /// pass does not report again. Anything else (a refused conditional write, a cancellation by the caller, an invalid
    /// change the builder refuses) is thrown as itself.
    /// </summary>
    public async ValueTask<long> CommitInPassAsync<TState>(string kind, string id,
        Func<StateView, TState, IReadOnlyList<StateChange>?> build, TState state, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        if (Admission?.Invoke() is { } refused)
        {
            events.SaveFailed("save-" + kind, store.Location, refused);
            throw new ReportedSaveFailure(refused);
        }

        long started = Stopwatch.GetTimestamp();
        using Activity? activity = StateActivities.Source.StartActivity(StateActivities.Save)?.SetTag("statepersistence.kind", kind);
        PendingCommit? pending;
        while (true)
        {
            try
            {
                pending = Committer.Enqueue(build, state, durability);
                break;
            }
            catch (UnsettledRefusal)
            {
                // The builder would have refused on a version a pending commit made: once that has its outcome
                // (durable, or failed and gone), it decides again. Nothing of this call is enqueued yet.
                await Committer.SettleAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        if (pending is null)
        {
            return 0;
        }

        long revision;
        try
        {
            // Once enqueued a commit cannot be withdrawn (later commits may build on it), so the token stops here.
            using Activity? wait = StateActivities.Source.StartActivity(StateActivities.CommitWait);
            revision = await Committer.WaitAsync(pending).ConfigureAwait(false);
        }
        catch (StateConflictException)
        {
            // A refused conditional write is the caller's answer, not a failed save.
            throw;
        }
        catch (Exception ex)
        {
            // No token reaches the append, so a cancellation here is the store's own (a codec's HttpClient timing out
            // throws TaskCanceledException): a failed save like any other, which before 2026-12-07 was reported
            // nowhere (SaveCancelledByItsStoreTests).
            activity?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
            events.SaveFailed("save-" + kind, store.Location, ex, pending.Finished);
            throw new ReportedSaveFailure(ex);
        }

        Log.ItemSaved(logger, kind, id, revision);
        events.Saved(kind, store.Location, revision, Stopwatch.GetElapsedTime(started), finished: pending.Finished);
        Committed?.Invoke(JsonBytes(pending.Changes));
        return revision;
    }

    private static long JsonBytes(IReadOnlyList<StateChange> changes)
    {
        // Indexed: a foreach over the interface would allocate an enumerator on every save.
        long bytes = 0;
        for (int i = 0; i < changes.Count; i++)
        {
            bytes += changes[i].Json?.Length ?? 0;
        }

        return bytes;
    }

    /// <summary>
    /// A read-modify-write of one item as a compare-and-swap: <paramref name="change"/> runs outside the committer's
    /// lock on the newest version of the item (null when there is none; returning null means nothing to do), and its
    /// result commits only if the item is still that version (every committed change to an item replaces its
    /// <see cref="StoredItem"/>, so the instance is its version); otherwise it runs again on the newer version. The
    /// lock orders every save of the store, so parsing and serializing inside it serialized all concurrent updates on
    /// one core. Returns the committed revision, or 0 when <paramref name="change"/> returned null.
    /// <para>
    /// A refusal (<paramref name="change"/> throwing, a conflict or the caller's check or update refusing, or returning
    /// null: nothing to change, the item not found) stands only on the durable version of the item (<see cref="IsDurable"/>);
    /// made on a version a pending commit made, it waits until that commit has its outcome and runs again.
    /// </para>
    /// <para>
    /// Over a shared store, a refusal by <paramref name="change"/> stands only on the store's version of the item: this
    /// instance's copy may trail another instance's change still on its way through the feed. Once per call, the refusal
    /// catches up with the store (the task, <paramref name="task"/>, or session <paramref name="id"/>); when that brought
    /// a newer version (or the feed did meanwhile) <paramref name="change"/> runs again on it, and what it decides there
    /// stands, so a store that keeps changing never keeps the call deciding.
    /// </para>
    /// </summary>
    public async ValueTask<long> CommitIfUnchangedAsync(string kind, bool task, Func<StateView, ImmutableSortedDictionary<string, StoredItem>> map,
        string id, Func<StoredItem?, StateChange?> change, CancellationToken cancellationToken)
    {
        bool decidedOnStoresVersion = false;
        while (true)
        {
            ThrowIfDisposed();

            // Here, not only in CommitAsync: an item that is missing commits nothing, and the caller would get null.
            cancellationToken.ThrowIfCancellationRequested();
            StoredItem? current = map(Committer.Latest).GetValueOrDefault(id);
            StateChange? made;
            try
            {
                made = change(current);
            }
            catch (Exception refusal) when (refusal is not OperationCanceledException && !IsDurable(map, id, current))
            {
                // Any refusal, not only a conflict: the caller's check or update (the server's quotas) that throws on a
                // version a pending commit made would refuse the write because of one that may still fail. Before
                // 2026-12-07 only a conflict waited (RefusalOnPendingSaveTests).
                await Committer.SettleAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }
            catch (Exception refusal) when (refusal is not OperationCanceledException && Shared && !decidedOnStoresVersion)
            {
                // Every read-modify-write (a replace's check, a log append's check, an update's callback: the server's
                // quotas and rules) refused on a copy that trails another instance's change would refuse because of a
                // version the store no longer holds. Before 2026-12-07 only a replace's check was decided again
                // (CheckAheadOfTheFeedTests); an append or update refused on the trailing copy (RefusalAheadOfTheFeedTests).
                decidedOnStoresVersion = true;
                await CatchUpBeforeWriteAsync(kind, task, id, cancellationToken).ConfigureAwait(false);
                if (ReferenceEquals(map(Committer.Latest).GetValueOrDefault(id), current))
                {
                    throw;
                }

                continue;
            }

            if (made is null)
            {
                if (!IsDurable(map, id, current))
                {
                    await Committer.SettleAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                }

                return 0;
            }

            var attempt = new CompareAndSwap(map, id, current, made);
            long revision = await CommitAsync(kind, id, static (view, a) => a.Build(view), attempt, cancellationToken).ConfigureAwait(false);
            if (revision != 0 || !attempt.Stale)
            {
                return revision;
            }
        }
    }

    /// <summary>
    /// Whether <paramref name="decidedOn"/>, the item <paramref name="id"/> as a decision read it from the latest state
    /// (null when absent there), is its durable version now, so that a refusal may rest on it. Over a store with one
    /// writer the latest state holds the commits not yet durable: a version one of them made may never exist (its
    /// append can fail), and a refusal on it waits until the commits pending have their outcome
    /// (<see cref="GroupCommitter.SettleAsync"/>), then decides again. While nothing is pending the latest state holds
    /// the durable version of every item, so a difference means a commit was pending (or settled meanwhile): deciding
    /// again never spins. Over a shared store decisions are made on the durable state already: true.
    /// </summary>
    public bool IsDurable(Func<StateView, ImmutableSortedDictionary<string, StoredItem>> map, string id, StoredItem? decidedOn) =>
        Shared || map(Committer.Durable).GetValueOrDefault(id)?.Revision == decidedOn?.Revision;

    /// <summary>The typed conflict for an expectation the store found unmet, with the item as it is now.</summary>
    public static StateConflictException Conflict(ItemConflict conflict, StateView current)
    {
        bool task = conflict.Kind is ChangeKind.PutTask or ChangeKind.DeleteTask or ChangeKind.AppendTaskLog;
        // The store's copy when it sent one: over a shared store this instance may not have applied the newer one yet.
        // The store's revision is the truth: absent there means absent, whatever this view still holds.
        StoredItem? item = conflict.Current ?? (conflict.CurrentRevision is null ? null : (task ? current.Tasks : current.Sessions).GetValueOrDefault(conflict.Id));
        object? value = item is null ? null : task ? ItemCodec.DeserializeTask(item.Json) : ItemCodec.DeserializeSession(item.Json);
        return new StateConflictException(task ? "task" : "session", conflict.Id, conflict.Expected, conflict.CurrentRevision, value);
    }
}

/// <summary>One attempt of <see cref="CommitPipeline.CommitIfUnchangedAsync"/>: commits only over the version it was made from.</summary>
internal sealed class CompareAndSwap(Func<StateView, ImmutableSortedDictionary<string, StoredItem>> map, string id, StoredItem? read, StateChange change)
{
    public bool Stale { get; private set; }

    public IReadOnlyList<StateChange>? Build(StateView view)
    {
        if (ReferenceEquals(map(view).GetValueOrDefault(id), read))
        {
            return [change];
        }

        Stale = true;
        return null;
    }
}
