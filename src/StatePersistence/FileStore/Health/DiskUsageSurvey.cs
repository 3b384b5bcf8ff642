namespace StatePersistence.FileStore.Health;

/// <summary>One measure of the disk use of the state directory's folders of many files (their <c>files_*</c> and <c>bytes_*</c> health figures).</summary>
/// <param name="Figures">The figures by name.</param>
/// <param name="Bytes">What <see cref="Storage.StoreHealth.BytesOnDisk"/> reports.</param>
/// <param name="Problem">Why the directory could not be inspected, or null.</param>
/// <param name="MeasuredAt">When the measure began.</param>
/// <param name="FiguresMeasuredAt">
/// When <paramref name="Figures"/> were measured: <paramref name="MeasuredAt"/> when it succeeded; after a failure, the
/// last measure that succeeded, whose figures are kept (a monitor then sees the last known use, not a drop to 0); null
/// when none has yet, and there are no figures.
/// </param>
internal sealed record DiskUsage(IReadOnlyDictionary<string, long> Figures, long Bytes, string? Problem, DateTimeOffset MeasuredAt,
    DateTimeOffset? FiguresMeasuredAt);

/// <summary>
/// Measures the folders of many files (task and session files, session logs, reports, task archives) at most once per
/// <c>interval</c>, in the background. A measure lists every file there and asks each one's size: 0.5-0.8 s with 100,000 task files, and <c>/health</c> asked for it every time its
/// 2 s cache ran out, so a probe every few seconds kept a core a third busy, and a probe with a 1 s timeout could fail
/// on a healthy server. Now a health check takes the last measure and, when that is older than the interval, starts the
/// next one in the background (one at a time). The first is started when the store opens (<see cref="Start"/>), so
/// the first check waits for it only when it comes within that measure's time of the start, and never measures twice.
/// An interval of zero measures on every check, as before. The store's close stops a measure in flight
/// (<see cref="StopAsync"/>): one outliving the store listed and asked the size of every file of a directory it no
/// longer held the lock of, for up to a second after the close, and took a core from whatever ran next.
/// </summary>
internal sealed class DiskUsageSurvey(Func<CancellationToken, (IReadOnlyDictionary<string, long> Figures, long Bytes)> measure, TimeSpan interval,
    TimeProvider time, string location)
{
    private readonly object _gate = new();
    private readonly CancellationTokenSource _stopping = new();
    private DiskUsage? _last;
    private Task? _refreshing;

    /// <summary>The measures started so far (for tests).</summary>
    public int Measures { get; private set; }

    /// <summary>Starts the first measure in the background (once the store is open), unless one was taken or the interval is zero.</summary>
    public void Start()
    {
        lock (_gate)
        {
            if (interval > TimeSpan.Zero && _last is null && _refreshing is null && !_stopping.IsCancellationRequested)
            {
                Measures++;
                _refreshing = Task.Run(Refresh);
            }
        }
    }

    /// <summary>The last measure, starting the next in the background when it is <c>interval</c> old.</summary>
    public DiskUsage Current()
    {
        DiskUsage? last;
        Task? first = null;
        lock (_gate)
        {
            last = interval > TimeSpan.Zero ? _last : null;
            if (last is not null && _refreshing is null && time.GetUtcNow() - last.MeasuredAt >= interval && !_stopping.IsCancellationRequested)
            {
                Measures++;
                _refreshing = Task.Run(Refresh);
            }
            else if (last is null && interval > TimeSpan.Zero && _refreshing is not null)
            {
                // The first measure, started by the open, is still running: taking another would only double the work.
                first = _refreshing;
            }
            else if (last is null)
            {
                Measures++;
            }
        }

        if (first is not null)
        {
            first.GetAwaiter().GetResult(); // Refresh never throws: a failed measure is kept as its problem.
            lock (_gate)
            {
                return _last!;
            }
        }

        return last ?? Keep(Measure());
    }

    /// <summary>The background measure in flight, or a completed task (for tests).</summary>
    public Task Refreshing
    {
        get
        {
            lock (_gate)
            {
                return _refreshing ?? Task.CompletedTask;
            }
        }
    }

    /// <summary>Cancelled when the store closes: what a test's file system waits on to stand for a slow listing.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>
    /// Stops the measure in flight, if any, between two of its file system calls, and returns once it has ended: after
    /// the store's close nothing lists or measures its directory. No measure starts after it.
    /// </summary>
    public async Task StopAsync()
    {
        Task? refreshing;
        lock (_gate)
        {
            _stopping.Cancel();
            refreshing = _refreshing;
        }

        if (refreshing is not null)
        {
            await refreshing.ConfigureAwait(false); // Refresh never throws: a failed measure is kept as its problem.
        }
    }

    private void Refresh()
    {
        try
        {
            Keep(Measure());
        }
        finally
        {
            lock (_gate)
            {
                _refreshing = null;
            }
        }
    }

    /// <summary>
    /// One measure; a failure is its problem, which the health checks report until a measure succeeds (in the
    /// background it would otherwise be lost in an unobserved task). The figures of the last measure that succeeded are
    /// kept, and the problem says when they were measured: before 2026-12-07 they dropped to 0, as if measured.
    /// </summary>
    private DiskUsage Measure()
    {
        DateTimeOffset started = time.GetUtcNow();
        try
        {
            (IReadOnlyDictionary<string, long> figures, long bytes) = measure(_stopping.Token);
            return new DiskUsage(figures, bytes, null, started, started);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_stopping.IsCancellationRequested)
        {
            DiskUsage? previous;
            lock (_gate)
            {
                previous = _last;
            }

            string problem = $"The state directory '{location}' could not be inspected: {ex.Message.TrimEnd().TrimEnd('.')}. ";
            return previous?.FiguresMeasuredAt is { } measuredAt
                ? new DiskUsage(previous.Figures, previous.Bytes,
                    problem + $"Its files_* and bytes_* figures of tasks, sessions, logs, reports and the archive are those measured at {measuredAt:O}.",
                    started, measuredAt)
                : new DiskUsage(new Dictionary<string, long>(), 0,
                    problem + "Its files_* and bytes_* figures of tasks, sessions, logs, reports and the archive are left out until a measure succeeds.",
                    started, null);
        }
        catch (OperationCanceledException)
        {
            // The store closed mid-measure: nothing is wrong with the directory, and no check will read this.
            lock (_gate)
            {
                return _last ?? new DiskUsage(new Dictionary<string, long>(), 0,
                    $"The store of '{location}' closed before its folders were measured.", started, null);
            }
        }
    }

    private DiskUsage Keep(DiskUsage measured)
    {
        lock (_gate)
        {
            // Two first checks may measure at once: the later measure wins.
            if (_last is null || measured.MeasuredAt >= _last.MeasuredAt)
            {
                _last = measured;
            }
        }

        return measured;
    }
}
