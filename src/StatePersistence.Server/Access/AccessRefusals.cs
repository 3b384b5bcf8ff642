using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using StatePersistence.Diagnostics;
using StatePersistence.Server.Refusals;

namespace StatePersistence.Server.Access;

/// <summary>
/// Every request refused for who sent it (401: no key, a wrong key, a dashboard cookie expired or logged out; 403: a
/// page of another site, or a write with the dashboard's cookie not from its own page): counted in
/// <c>statepersistence_access_refused_total</c> (labels <c>reason</c> and <c>status</c>) and logged through a
/// <see cref="RefusalWindow"/> per reason and status, the first of a spell a Warning (server id 7136), the rest at
/// Debug and summed up every 10 s, so that a flood of guesses is a few lines, not a full disk. These refusals left no
/// trace before: a key being guessed, or a leaked cookie tried from another page, went unseen.
/// </summary>
internal sealed partial class AccessRefusals : IDisposable
{
    public const string NoKey = "no_key";
    public const string WrongKey = "wrong_key";
    public const string CookieRefused = "cookie_refused";
    public const string CrossSite = "cross_site";
    public const string CookieWriteNotFromPage = "cookie_write_not_from_page";
    public const string HostNotListed = "host_not_listed";

    // A header quoted in a line is cut here: a client chooses it, and a line per spell must stay a line.
    private const int MaxQuoted = 200;

    private readonly Counter<long> _refused;
    private readonly TimeProvider _time;
    private readonly RefusalLog _log;
    private readonly ILogger<AccessRefusals> _logger;
    private readonly ConcurrentDictionary<(string Reason, int Status), RefusalWindow> _windows = new();

    public AccessRefusals(IMeterFactory meterFactory, TimeProvider time, RefusalLog log, ILogger<AccessRefusals> logger)
    {
        _refused = meterFactory.Create(StateMeter.Name).CreateCounter<long>("statepersistence.access.refused", "{request}",
            "Requests refused for who sent them (no or a wrong key, a stale dashboard cookie, another site's page), by reason and status.");
        _time = time;
        _log = log;
        _logger = logger;
    }

    /// <summary>Counts and logs (whole, or at Debug within a spell) a request refused with <paramref name="status"/>.</summary>
    public void Refused(HttpContext context, string reason, int status, string cause)
    {
        _refused.Add(1, new KeyValuePair<string, object?>("reason", reason), new KeyValuePair<string, object?>("status", status));
        HttpRequest request = context.Request;
        string client = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        RefusalWindow window = _windows.GetOrAdd((reason, status),
            static (key, self) => new RefusalWindow($"{key.Reason}, {key.Status}", self._time, RefusalLog.Interval, self._log), this);
        string path = Quoted(request.Path.Value);
        if (window.Refused($"{request.Method} {path} from {client}: {cause}"))
        {
            LogRefused(_logger, reason, status, request.Method, path, client, cause);
        }
        else
        {
            _log.Quiet(window.Name, $"{request.Method} {path} from {client}: {cause}");
        }
    }

    /// <summary>A client's text as a line quotes it: at most 200 characters.</summary>
    public static string Quoted(string? text) =>
        text is null ? "" : text.Length <= MaxQuoted ? text : string.Concat(text.AsSpan(0, MaxQuoted), "…");

    public void Dispose()
    {
        foreach (RefusalWindow window in _windows.Values)
        {
            window.Dispose();
        }
    }

    [LoggerMessage(7136, LogLevel.Warning, "A request was refused ({Reason}, {Status}): {Method} {Path} from {Client}: {Cause}")]
    private static partial void LogRefused(ILogger logger, string reason, int status, string method, string path, string client, string cause);
}
