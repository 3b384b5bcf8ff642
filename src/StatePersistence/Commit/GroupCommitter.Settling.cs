namespace StatePersistence.Commit;

/// <summary>
/// Waiting until the commits enqueued so far have their outcome (durable, or failed and the latest view fallen back to
/// the durable one), and closing the committer to new commits. Groups are written in the order their commits were
/// enqueued, so the outcomes arrive oldest first and a count says which are settled.
/// <para>
/// A refusal must not rest on a commit that may still fail: a write refused because of a version no store ever held
/// would be refused for a write that never happened. Such a refusal waits here and decides again
/// (<c>CommitPipeline</c>). A shutdown waits here too, so that every commit accepted before it is written before the
/// final snapshot and before the store is released.
/// </para>
/// </summary>
internal sealed partial class GroupCommitter
{
    private long _enqueued;
    private long _settled;

    // Created by the first waiter only: a group whose outcome nobody waits for allocates nothing here.
    private TaskCompletionSource? _settledSignal;
    private Func<Exception>? _closed;

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

    /// <summary>
    /// Refuses every commit from now on (<see cref="Enqueue"/> throws what <paramref name="refusal"/> makes). Returns
    /// how many of the commits enqueued before are still without their outcome: what <see cref="DrainAsync"/> waits for.
    /// </summary>
    public long Close(Func<Exception> refusal)
    {
        lock (_gate)
        {
            _closed = refusal;
            return _enqueued - _settled;
        }
    }

    /// <summary>
    /// Once closed (<see cref="Close"/>), waits until every commit enqueued has its outcome: nothing is left to write
    /// to the store once this returns.
    /// </summary>
    public ValueTask DrainAsync()
    {
        long target;
        lock (_gate)
        {
            if (_closed is null)
            {
                throw new InvalidOperationException("The committer drains only once closed: commits could still arrive.");
            }

            target = _enqueued;
        }

        return SettledThroughAsync(target, CancellationToken.None);
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

    /// <summary>Under the lock, before a commit is built: refused once closed.</summary>
    private void ThrowIfClosed()
    {
        if (_closed is { } refusal)
        {
            throw refusal();
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
