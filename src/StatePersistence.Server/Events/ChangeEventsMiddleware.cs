using StatePersistence.Server.Access;

namespace StatePersistence.Server.Events;

/// <summary>
/// Publishes the item changes a request made (<c>task:saved</c>, <c>task:deleted</c>, <c>session:saved</c>,
/// <c>session:deleted</c>, <c>session:log</c>, <c>report:saved</c>) once it succeeded, and audits operator actions: a
/// request naming one in <c>X-StatePersistence-Action</c> (the dashboard's) or a write authenticated by the dashboard
/// cookie is logged and published as <c>audit</c>. Done here rather than in each route, so the routes stay as they are.
/// </summary>
internal sealed partial class ChangeEventsMiddleware(RequestDelegate next, EventHub hub, IStatePersistence state,
    ILogger<ChangeEventsMiddleware> logger)
{
    /// <summary>The header the dashboard names its action in (<c>cancel-task</c>, <c>snapshot</c>, <c>export</c>, …).</summary>
    public const string ActionHeader = "X-StatePersistence-Action";

    public async Task InvokeAsync(HttpContext context)
    {
        await next(context);
        HttpRequest request = context.Request;
        int status = context.Response.StatusCode;
        string? action = Action(context);
        if (action is not null)
        {
            // Ids and paths only: the body may hold task content, which the log never carries.
            LogAudit(logger, action, request.Method, request.Path, status);
            hub.Publish("audit", new AuditEventData(action, request.Method, request.Path, status), EventJsonContext.Default.AuditEventData);
        }

        if (status is >= 200 and < 300 && !HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method)
            && Change(context) is (string type, string id))
        {
            hub.Publish(type, new ItemEventData(id, state.Revision), EventJsonContext.Default.ItemEventData);
        }
    }

    private static string? Action(HttpContext context)
    {
        string? named = context.Request.Headers[ActionHeader];
        if (!string.IsNullOrEmpty(named))
        {
            // Only a short token reaches the log and the event, whatever a client sends.
            return named.Length <= 64 && named.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_') ? named : "invalid-action";
        }

        bool write = !HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method);
        return write && DashboardCookie.Authenticated(context) ? "write" : null;
    }

    private static (string Type, string Id)? Change(HttpContext context)
    {
        string[] segments = context.Request.Path.Value?.Trim('/').Split('/') ?? [];
        if (segments.Length < 2 || segments[0] != "api")
        {
            return null;
        }

        string? id = segments.Length > 2 ? segments[2] : LocationId(context.Response);
        if (id is null)
        {
            return null;
        }

        bool delete = HttpMethods.IsDelete(context.Request.Method);
        return (segments[1], segments.Length > 3 ? segments[3] : null) switch
        {
            ("tasks", null) => (delete ? "task:deleted" : "task:saved", id),
            ("tasks", "logs") => ("task:saved", id),
            ("sessions", null) => (delete ? "session:deleted" : "session:saved", id),
            ("sessions", "log") => ("session:log", id),
            ("reports", null) => ("report:saved", id),
            _ => null,
        };
    }

    /// <summary>A create answers with <c>Location: /api/tasks/{id}</c>: the id the server chose or was given.</summary>
    private static string? LocationId(HttpResponse response)
    {
        string? location = response.Headers.Location;
        return string.IsNullOrEmpty(location) ? null : location[(location.LastIndexOf('/') + 1)..];
    }

    [LoggerMessage(1, LogLevel.Information, "Audit: operator action {Action}: {Method} {Path} answered {Status}")]
    private static partial void LogAudit(ILogger logger, string action, string method, string path, int status);
}
