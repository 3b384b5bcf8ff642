using Microsoft.Extensions.Time.Testing;

namespace StatePersistence.CrashTests.Support;

/// <summary>
/// A fake clock for autosave workloads, deterministic without sleeping:
/// <list type="bullet">
/// <item><description>It tells when a timer was created. The autosave loop creates its timer on a thread of its own
/// after start-up; moving the clock before that would fire nothing.</description></item>
/// <item><description>Timer callbacks run on the thread pool, not inside <see cref="FakeTimeProvider.Advance"/>.
/// FakeTimeProvider runs them inline and lets only one thread wake timers at a time: an autosave running inside
/// one Advance (held at a gate, say) made the next Advance return without firing anything.</description></item>
/// </list>
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
        ITimer timer = base.CreateTimer(s => ThreadPool.QueueUserWorkItem(_ => callback(s)), state, dueTime, period);
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
