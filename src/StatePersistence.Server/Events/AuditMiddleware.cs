using Microsoft.Extensions.Options;
using StatePersistence.Server.Access;
using StatePersistence.Server.Configuration;

namespace StatePersistence.Server.Events;

/// <summary>
/// Audits operator actions: a request naming one in <c>X-StatePersistence-Action</c> (the dashboard's) or a write
/// authenticated by the dashboard cookie is logged and published as <c>audit</c>. Done here rather than in each route,
/// so the routes stay as they are. The item changes themselves are not published here: they come from the store's
/// change feed through <see cref="IStatePersistence.ReadEventsAsync"/>, so changes made outside this server's routes
/// are events too. With an API key configured only a request that carried it (or the dashboard's cookie) is audited: an
/// operator is whoever holds the key, and the routes open without it (<c>/health</c>, <c>/login</c>, the dashboard's
/// files) would otherwise let anyone who reaches the server write an operator action into the log and every open
/// dashboard's stream, one Information line per request.
/// </summary>
internal sealed partial class AuditMiddleware(RequestDelegate next, EventHub hub, ILogger<AuditMiddleware> logger,
    IOptions<StateServerOptions> options)
{
    private readonly bool _keyRequired = options.Value.HasApiKey;

    /// <summary>The header the dashboard names its action in (<c>cancel-task</c>, <c>snapshot</c>, <c>export</c>, …).</summary>
    public const string ActionHeader = "X-StatePersistence-Action";

    public Task InvokeAsync(HttpContext context)
    {
        // Decided from the request alone (its header, the cookie the key check accepted), so that a request auditing
        // nothing, nearly every one, passes through without an async frame of its own.
        string? action = Action(context);
        if (action is not null)
        {
            // Once the answer is complete rather than after next returns: a route that refuses by throwing (an invalid
            // id or field, a failed save) is answered by the exception handler outside this middleware, and its
            // status is known only then. Awaiting next here skipped those refusals, the ones an audit most needs.
            context.Response.OnCompleted(static state =>
            {
                var (self, context, action) = ((AuditMiddleware, HttpContext, string))state;
                self.Audit(context, action);
                return Task.CompletedTask;
            }, (this, context, action));
        }

        return next(context);
    }

    private void Audit(HttpContext context, string action)
    {
        HttpRequest request = context.Request;
        int status = context.Response.StatusCode;
        // Ids and paths only: the body may hold task content, which the log never carries.
        // The client's address: the connection's, or the one a trusted proxy names (TrustedProxies).
        LogAudit(logger, action, request.Method, request.Path, status, context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
        hub.Publish("audit", new AuditEventData(action, request.Method, request.Path, status), EventJsonContext.Default.AuditEventData);
    }

    private string? Action(HttpContext context)
    {
        if (_keyRequired && !ApiKeyMiddleware.PresentedKey(context))
        {
            // Let in by an open route without the key or the cookie: not an operator's action.
            return null;
        }

        string? named = context.Request.Headers[ActionHeader];
        if (!string.IsNullOrEmpty(named))
        {
            // Only a short token reaches the log and the event, whatever a client sends.
            return named.Length <= 64 && named.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_') ? named : "invalid-action";
        }

        bool write = !HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method);
        return write && DashboardCookie.Authenticated(context) ? "write" : null;
    }

    [LoggerMessage(1, LogLevel.Information, "Audit: operator action {Action}: {Method} {Path} answered {Status} (client {Client})")]
    private static partial void LogAudit(ILogger logger, string action, string method, string path, int status, string client);
}
