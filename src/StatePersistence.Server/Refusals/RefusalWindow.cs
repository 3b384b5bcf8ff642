namespace StatePersistence.Server.Refusals;

/// <summary>
/// Coalesces the log lines of one kind of refusal. A database that is down or a full disk refuses every request with
/// the same cause, and a Warning per request was thousands of lines a second. The first refusal after a quiet spell is
/// logged whole by its caller; the ones after it are counted, and every <see cref="RefusalLog.Interval"/> one summary
/// line gives how many were refused since and the latest cause; an interval without any ends the spell with a line
/// saying so, and the next refusal is logged whole again. The timer runs on the injected clock, so tests drive it.
/// </summary>
internal sealed class RefusalWindow(string refusal, TimeProvider time, TimeSpan interval, RefusalLog log) : IDisposable
{
    private readonly Lock _gate = new();

    /// <summary>The reason and status, as the lines name them (<c>storage, 503</c>).</summary>
    public string Name => refusal;

    private ITimer? _timer;
    private DateTimeOffset _first;
    private DateTimeOffset _last;
    private long _sinceLine;
    private long _total;
    private string _latestCause = "";

    /// <summary>
    /// Records a refusal; true when it is the first of a spell, which the caller logs whole (with its cause and
    /// whatever else it names), false when it is counted for the next summary instead.
    /// </summary>
    public bool Refused(string cause)
    {
        lock (_gate)
        {
            _last = time.GetUtcNow();
            if (_timer is null)
            {
                _first = _last;
                _sinceLine = 0;
                _total = 1;
                _timer = time.CreateTimer(static w => ((RefusalWindow)w!).Tick(), this, interval, interval);
                return true;
            }

            _total++;
            _sinceLine++;
            _latestCause = cause;
            return false;
        }
    }

    private void Tick()
    {
        (long Count, string Cause, long Total, DateTimeOffset First, DateTimeOffset Last)? summary;
        bool ended;
        lock (_gate)
        {
            if (_timer is null)
            {
                return;
            }

            ended = _sinceLine == 0;
            summary = (_sinceLine, _latestCause, _total, _first, _last);
            _sinceLine = 0;
            if (ended)
            {
                _timer.Dispose();
                _timer = null;
            }
        }

        // Logged outside the lock: a slow log sink must not hold up the requests being refused.
        if (ended)
        {
            log.Ended(refusal, summary.Value.Total, summary.Value.First, summary.Value.Last);
        }
        else
        {
            log.Summary(refusal, summary.Value.Count, interval, summary.Value.First, summary.Value.Cause);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _timer?.Dispose();
            _timer = null;
        }
    }
}
