using StatePersistence.Server.Refusals;

namespace StatePersistence.Server.Http;

/// <summary>
/// An answer written as it is read (a session log, the state) whose read failed once its headers, and part of its body,
/// were out: no problem can be sent any more, and ending the body short could pass a truncated text for the whole, so
/// the connection is aborted. The exception handler never sees such a failure, so it is counted here, in
/// <c>statepersistence_requests_refused_total{reason="aborted_mid_answer"}</c> with the status the headers carried
/// (the caller logs it): before, only the log said so, or for the state only the framework's line.
/// </summary>
internal static class AbortedAnswers
{
    /// <summary>
    /// Whether a failure while the body was written came after the headers were sent and is the server's: a client that
    /// went away cancels the request, and that is not a failure to count.
    /// </summary>
    public static bool AfterHeaders(HttpContext context) =>
        context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested;

    /// <summary>Counts the answer as aborted and aborts its connection.</summary>
    public static void Abort(HttpContext context)
    {
        context.RequestServices.GetRequiredService<RefusedRequests>().Count(RefusedRequests.AbortedMidAnswer, context.Response.StatusCode);
        context.Abort();
    }
}
