using System.Collections.Concurrent;

namespace StatePersistence.Service.Blobs;

/// <summary>
/// The session deletions running in this process, by id. A session is deleted in two steps (its record, then its log),
/// and between them another caller may create a session with the same id and append to its log: the second step would
/// then delete the new session's log. An append to a log whose session is being deleted waits here until the deletion
/// is over, so that every append begun after a deletion started lands after its log was deleted, and survives. Two
/// deletions of one id take turns. Only this process's callers wait here: instances sharing a store wait for each
/// other's deletions at the store's hold (<see cref="Storage.IStateBlobStore.HoldSessionLogAppendsAsync"/>).
/// </summary>
internal sealed class SessionDeletionGate
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _running = new(StringComparer.Ordinal);

    /// <summary>Starts a deletion of <paramref name="sessionId"/> (after any other one of it); dispose the result when both steps are done.</summary>
    public async ValueTask<IDisposable> BeginAsync(string sessionId, CancellationToken cancellationToken)
    {
        var mine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        while (!_running.TryAdd(sessionId, mine))
        {
            if (_running.TryGetValue(sessionId, out TaskCompletionSource? other))
            {
                await other.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        return new Deletion(this, sessionId, mine);
    }

    /// <summary>Completes at once unless <paramref name="sessionId"/> is being deleted; then when that deletion is over.</summary>
    public ValueTask WaitForDeletionAsync(string sessionId, CancellationToken cancellationToken) =>
        _running.TryGetValue(sessionId, out TaskCompletionSource? running)
            ? new ValueTask(running.Task.WaitAsync(cancellationToken))
            : ValueTask.CompletedTask;

    private sealed class Deletion(SessionDeletionGate gate, string sessionId, TaskCompletionSource done) : IDisposable
    {
        public void Dispose()
        {
            // Removed before it completes: a waiter woken by it then finds no deletion running, or a newer one.
            gate._running.TryRemove(new KeyValuePair<string, TaskCompletionSource>(sessionId, done));
            done.TrySetResult();
        }
    }
}
