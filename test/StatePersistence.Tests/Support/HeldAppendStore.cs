using StatePersistence.Commit;
using StatePersistence.InMemory;
using StatePersistence.Recovery;
using StatePersistence.Storage;

namespace StatePersistence.Tests.Support;

/// <summary>
/// The in-memory store (<see cref="Inner"/>, also the blob store to give the service) whose appends the test can hold:
/// after <see cref="Hold"/>, every append waits until <see cref="Release"/>, which lets them through or fails them
/// with the error it is given. The point of the tests using it: an append in flight for as long as the test needs, and
/// one that fails after later saves were decided while it was in flight.
/// </summary>
internal sealed class HeldAppendStore(InMemoryStorage? storage = null) : DelegatingStateStore<InMemoryStateStore>(new InMemoryStateStore(storage))
{
    private readonly object _lock = new();
    private TaskCompletionSource<Exception?>? _held;
    private readonly TaskCompletionSource _disposed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _waiting = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once an append waits at the hold set by the last <see cref="Hold"/>.</summary>
    public Task AppendWaiting
    {
        get
        {
            lock (_lock)
            {
                return _waiting.Task;
            }
        }
    }

    /// <summary>Completes once the store is disposed (closed by its service).</summary>
    public Task Disposed => _disposed.Task;

    /// <summary>From now on appends wait (<see cref="AppendWaiting"/> says when the first does).</summary>
    public void Hold()
    {
        lock (_lock)
        {
            _held = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>Ends the hold: the appends waiting fail with <paramref name="failure"/>, or go on when it is null; later ones go on.</summary>
    public void Release(Exception? failure = null)
    {
        TaskCompletionSource<Exception?>? held;
        lock (_lock)
        {
            held = _held;
            _held = null;
        }

        held?.SetResult(failure);
    }

    public override async ValueTask<IReadOnlyList<CommitOutcome>> AppendAsync(IReadOnlyList<IReadOnlyList<StateChange>> groups, Durability durability,
        CancellationToken cancellationToken = default)
    {
        TaskCompletionSource<Exception?>? held;
        lock (_lock)
        {
            held = _held;
            if (held is not null)
            {
                _waiting.TrySetResult();
            }
        }

        if (held is not null && await held.Task.WaitAsync(cancellationToken) is { } failure)
        {
            throw failure;
        }

        return await Inner.AppendAsync(groups, durability, cancellationToken);
    }

    public override async ValueTask DisposeAsync()
    {
        await Inner.DisposeAsync();
        _disposed.TrySetResult();
    }
}
