using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using StatePersistence.Diagnostics;

namespace StatePersistence.Server.Refusals;

/// <summary>
/// Every request the server refuses for its own state rather than the request's fault (storage down or failing, the
/// state directory gone, shutting down, free disk below the floor, the body budget or the event streams full, too many
/// failed logins, too many login forms from one address being read, a body that did not arrive within its deadline, an unexpected exception, a 500 from a defect of the
/// server's, and an answer aborted because reading what it sends failed after its headers went out): counted
/// in <c>statepersistence_requests_refused_total</c> (labels <c>reason</c> and <c>status</c>), each one, and logged
/// through a <see cref="RefusalWindow"/> per reason and status, so that a flood of them is a few lines.
/// </summary>
internal sealed class RefusedRequests : IDisposable
{
    public const string StorageFailed = "storage";
    public const string DirectoryGone = "directory_gone";
    public const string ShuttingDown = "shutting_down";
    public const string BodyBudget = "body_budget";
    public const string BodyTimeout = "body_timeout";
    public const string EventStreams = "event_streams";
    public const string LoginRateLimit = "login_rate_limit";
    public const string LoginFormsPerAddress = "login_forms_per_address";
    public const string DiskFloor = "disk_floor";
    public const string Unexpected = "unexpected";
    public const string AbortedMidAnswer = "aborted_mid_answer";

    private readonly Counter<long> _refused;
    private readonly TimeProvider _time;
    private readonly RefusalLog _log;
    private readonly TimeSpan _interval;
    private readonly ConcurrentDictionary<(string Reason, int Status), RefusalWindow> _windows = new();

    public RefusedRequests(IMeterFactory meterFactory, TimeProvider time, RefusalLog log)
        : this(meterFactory, time, log, RefusalLog.Interval)
    {
    }

    internal RefusedRequests(IMeterFactory meterFactory, TimeProvider time, RefusalLog log, TimeSpan interval)
    {
        _refused = meterFactory.Create(StateMeter.Name).CreateCounter<long>("statepersistence.requests.refused", "{request}",
            "Requests refused for the server's state (storage, shutdown, limits), by reason and status.");
        _time = time;
        _log = log;
        _interval = interval;
    }

    /// <summary>Counts a refusal that is not logged (one the stop itself explains, such as shutting down).</summary>
    public void Count(string reason, int status) =>
        _refused.Add(1, new KeyValuePair<string, object?>("reason", reason), new KeyValuePair<string, object?>("status", status));

    /// <summary>
    /// Counts a refusal; true when the caller is to log it whole (the first of a spell), false when it is logged at
    /// Debug with <paramref name="cause"/> and summed up in the next summary line instead.
    /// </summary>
    public bool LogWhole(string reason, int status, string cause)
    {
        Count(reason, status);
        RefusalWindow window = _windows.GetOrAdd((reason, status),
            static (key, self) => new RefusalWindow($"{key.Reason}, {key.Status}", self._time, self._interval, self._log), this);
        if (window.Refused(cause))
        {
            return true;
        }

        _log.Quiet(window.Name, cause);
        return false;
    }

    public void Dispose()
    {
        foreach (RefusalWindow window in _windows.Values)
        {
            window.Dispose();
        }
    }
}
