namespace StatePersistence.Server.Access;

/// <summary>
/// Headers every answer carries, whichever route (or the exception handler, or the status code pages) wrote it:
/// <c>Cache-Control: no-store</c> unless the route chose its own (a cookie-authenticated answer without it may be kept by
/// a shared proxy and handed to the next person who asks; the dashboard's files choose <c>no-cache</c>),
/// <c>X-Content-Type-Options: nosniff</c> (a problem that echoes a path is never read as HTML) and
/// <c>X-Frame-Options: DENY</c> (no page of another site frames the dashboard, for browsers older than the CSP's
/// <c>frame-ancestors</c>).
/// </summary>
internal sealed class SecurityHeaders(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        // When the answer starts rather than now: the exception handler clears the headers of an answer it replaces.
        context.Response.OnStarting(static state =>
        {
            IHeaderDictionary headers = ((HttpResponse)state).Headers;
            if (string.IsNullOrEmpty(headers.CacheControl))
            {
                headers.CacheControl = "no-store";
            }

            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            return Task.CompletedTask;
        }, context.Response);
        return next(context);
    }
}
