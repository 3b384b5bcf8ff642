namespace StatePersistence.Commit;

/// <summary>
/// Waiting until the commits enqueued so far have their outcome (durable, or failed and the latest view fallen back to
/// the durable one). Groups are written in the order their commits were enqueued, so the outcomes arrive oldest first
/// and a count says which are settled.
/// <para>
/// A refusal must not rest on a commit that may still fail: a write refused because of a version no store ever held
/// would be refused for a write that never happened. Such a refusal waits here and decides again
/// (<c>CommitPipeline</c>).
/// </para>
/// </summary>
internal sealed partial class GroupCommitter
{
    private long _enqueued;
    private long _settled;

    // Created by the first waiter only: a group whose outcome nobody waits for allocates nothing here.
    private TaskCompletionSource? _settledSignal;

    /// <summary>Waits until every commit enqueued before the call has its outcome (at once when none is pending).</summary>
    public ValueTask SettleAsync(CancellationToken cancellationToken)
    {
        long target;
        lock (_gate)
        {
            target = _enqueued;
        }

        return SettledThroughAsync(target, cancellationToken);
    }

    private async ValueTask SettledThroughAsync(long target, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task settled;
            lock (_gate)
            {
                if (_settled >= target)
                {
                    return;
                }

                _settledSignal ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                settled = _settledSignal.Task;
            }

            await settled.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Under the lock, once <paramref name="count"/> more commits (the oldest pending) have their outcome.</summary>
    private void Settled(int count)
    {
        _settled += count;
        if (_settledSignal is { } signal)
        {
            _settledSignal = null;
            signal.TrySetResult();
        }
    }
}
