using Microsoft.Extensions.Time.Testing;

namespace StatePersistence.CrashTests.Support;

/// <summary>
/// A fake clock that also tells when a timer was created. The autosave loop creates its timer on a thread of its
/// own after start-up; moving the clock before that would fire nothing, and moving it again later could fire a
/// second, unplanned autosave. Waiting for the timer keeps autosave workloads deterministic without sleeping.
/// </summary>
internal sealed class WorkloadClock() : FakeTimeProvider(Services.Epoch)
{
    private readonly Lock _gate = new();
    private readonly List<(int Count, TaskCompletionSource Created)> _waiters = [];
    private int _timersCreated;

    public int TimersCreated
    {
        get
        {
            lock (_gate)
            {
                return _timersCreated;
            }
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ITimer timer = base.CreateTimer(callback, state, dueTime, period);
        lock (_gate)
        {
            _timersCreated++;
            foreach ((int count, TaskCompletionSource created) in _waiters.Where(w => w.Count <= _timersCreated))
            {
                created.TrySetResult();
            }

            _waiters.RemoveAll(w => w.Count <= _timersCreated);
        }

        return timer;
    }

    /// <summary>Completes once <paramref name="count"/> timers were created in all.</summary>
    public Task WhenTimersCreated(int count)
    {
        lock (_gate)
        {
            if (_timersCreated >= count)
            {
                return Task.CompletedTask;
            }

            var created = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((count, created));
            return created.Task;
        }
    }
}
