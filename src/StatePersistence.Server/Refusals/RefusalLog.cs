namespace StatePersistence.Server.Refusals;

/// <summary>The lines <see cref="RefusalWindow"/> writes in place of one Warning per refused request (server ids 7131-7133).</summary>
internal sealed partial class RefusalLog(ILogger<RefusalLog> logger)
{
    /// <summary>How often a spell of refusals is summed up in one line.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    public void Summary(string refusal, long count, TimeSpan interval, DateTimeOffset first, string latestCause) =>
        LogSummary(logger, count, refusal, interval, first, latestCause);

    public void Ended(string refusal, long total, DateTimeOffset first, DateTimeOffset last) =>
        LogEnded(logger, refusal, total, first, last);

    /// <summary>One refusal not logged whole, at Debug, so that its cause and correlation id can still be found.</summary>
    public void Quiet(string refusal, string cause) => LogQuiet(logger, refusal, cause);

    [LoggerMessage(7131, LogLevel.Warning, "{Count} more requests were refused ({Refusal}) in the last {Interval}, in a spell that began at {First:O}; the latest cause: {Cause}")]
    private static partial void LogSummary(ILogger logger, long count, string refusal, TimeSpan interval, DateTimeOffset first, string cause);

    [LoggerMessage(7132, LogLevel.Information, "Requests are no longer refused ({Refusal}): {Total} were refused from {First:O} to {Last:O}")]
    private static partial void LogEnded(ILogger logger, string refusal, long total, DateTimeOffset first, DateTimeOffset last);

    [LoggerMessage(7133, LogLevel.Debug, "A request was refused ({Refusal}), counted in the next summary: {Cause}")]
    private static partial void LogQuiet(ILogger logger, string refusal, string cause);
}
