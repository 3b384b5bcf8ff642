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

    public GroupCommitter Committer => _committer ?? throw new InvalidOperationException(
        $"The persistence service for '{store.Location}' is not started: call StartAsync first.");

    /// <summary>The acknowledged state every read comes from.</summary>
    public StateView Durable => Committer.Durable;

    /// <summary>Refuses writes from now on (the service is being disposed).</summary>
    public void MarkDisposed() => Volatile.Write(ref _disposed, 1);

    public void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, typeof(StatePersistenceService));

    public void Start(StateView recovered) =>
        _committer = new GroupCommitter(store, recovered, ItemCodec.ToItem, Conflict, instruments);

    /// <summary>
    /// Enqueues a commit built from the latest state and waits until it is durable. Returns the revision it was
    /// committed at, or 0 when the builder decided there was nothing to commit.
    /// </summary>
    public async ValueTask<long> CommitAsync<TState>(string kind, string id,
        Func<StateView, TState, IReadOnlyList<StateChange>?> build, TState state, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        long started = Stopwatch.GetTimestamp();
        PendingCommit? pending = Committer.Enqueue(build, state, durability);
        if (pending is null)
        {
            return 0;
        }

        long revision;
        try
        {
            // Once enqueued a commit cannot be withdrawn (later commits may build on it), so the token stops here.
            revision = await Committer.WaitAsync(pending).ConfigureAwait(false);
        }
        catch (StateConflictException)
        {
            // A refused conditional write is the caller's answer, not a failed save.
            throw;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            events.SaveFailed("save-" + kind, store.Location, ex);
            throw;
        }

        Log.ItemSaved(logger, kind, id, revision);
        events.Saved(kind, store.Location, revision, Stopwatch.GetElapsedTime(started));
        return revision;
    }

    /// <summary>The typed conflict for an expectation the store found unmet, with the item as it is now.</summary>
    public static StateConflictException Conflict(ItemConflict conflict, StateView current)
    {
        bool task = conflict.Kind is ChangeKind.PutTask or ChangeKind.DeleteTask or ChangeKind.AppendTaskLog;
        StoredItem? item = (task ? current.Tasks : current.Sessions).GetValueOrDefault(conflict.Id);
        object? value = item is null ? null : task ? ItemCodec.DeserializeTask(item.Json) : ItemCodec.DeserializeSession(item.Json);
        return new StateConflictException(task ? "task" : "session", conflict.Id, conflict.Expected, item?.Revision, value);
    }
}
