namespace StatePersistence.Service.Events;

/// <summary>
/// Which failures repeat one whose stack trace was logged a moment ago. A database that is down fails every request
/// with the same cause, and each failure logged with its stack trace was some forty lines: 70,000 lines in 40 s on one
/// instance of an audit. The first failure of an operation with a given message is logged whole; the same operation
/// failing with the same message within <see cref="Window"/> of that is logged as one line that counts the repeats and
/// says when the whole one was logged, at most once every <see cref="SummaryInterval"/>: the repeats in between are
/// logged at Debug (a thousand failed requests a second were a thousand Error lines a second, each the same). Every
/// failure is still logged, raised and counted; only the stack trace, and the Error line, are not repeated.
/// </summary>
internal sealed class RepeatedFailures(TimeProvider time)
{
    /// <summary>How long after a failure was logged whole the same failure is logged as a repeat.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    /// <summary>How often a repeating failure gets its Error line counting the repeats; the others are Debug lines.</summary>
    public static readonly TimeSpan SummaryInterval = TimeSpan.FromSeconds(10);

    // A few causes at a time (an outage fails the writes, the feed and the background jobs); more are let go.
    private const int MaxTracked = 32;
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Operation, string Message), (DateTimeOffset LoggedAt, int Repeats, DateTimeOffset? SummarizedAt)> _logged = [];

    /// <summary>
    /// Null when <paramref name="error"/> of <paramref name="operation"/> is to be logged whole (and is recorded as
    /// logged now); otherwise how many times it has repeated since it was, this one included, when that was, and
    /// whether this repeat gets the Error line (the first repeat, then one every <see cref="SummaryInterval"/>).
    /// </summary>
    public (int Repeats, DateTimeOffset LoggedAt, bool Summarize)? Repeat(string operation, Exception error)
    {
        DateTimeOffset now = time.GetUtcNow();
        var key = (operation, error.Message);
        lock (_gate)
        {
            if (_logged.TryGetValue(key, out (DateTimeOffset LoggedAt, int Repeats, DateTimeOffset? SummarizedAt) seen) && now - seen.LoggedAt < Window)
            {
                bool summarize = seen.SummarizedAt is not { } last || now - last >= SummaryInterval;
                _logged[key] = (seen.LoggedAt, seen.Repeats + 1, summarize ? now : seen.SummarizedAt);
                return (seen.Repeats + 1, seen.LoggedAt, summarize);
            }

            if (_logged.Count >= MaxTracked)
            {
                foreach (var old in _logged.Where(e => now - e.Value.LoggedAt >= Window).Select(e => e.Key).ToList())
                {
                    _logged.Remove(old);
                }

                if (_logged.Count >= MaxTracked)
                {
                    _logged.Clear();
                }
            }

            _logged[key] = (now, 0, null);
            return null;
        }
    }
}
