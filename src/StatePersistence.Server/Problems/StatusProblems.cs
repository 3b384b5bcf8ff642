using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.HostFiltering;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using StatePersistence.Server.Access;

namespace StatePersistence.Server.Problems;

/// <summary>
/// The problem body of an error answered without one (an unknown route, a method the route does not take, a refused
/// <c>Host</c>), so that every error response has a <c>detail</c>.
/// </summary>
internal static class StatusProblems
{
    public static Task WriteAsync(StatusCodeContext status)
    {
        HttpContext context = status.HttpContext;
        HttpRequest request = context.Request;
        int code = context.Response.StatusCode;
        string title = ReasonPhrases.GetReasonPhrase(code);
        string detail = code switch
        {
            // OPTIONS * (RFC 9110 section 9.3.7) has no path: its detail read "The route  does not accept OPTIONS".
            StatusCodes.Status404NotFound or StatusCodes.Status405MethodNotAllowed when !request.Path.HasValue =>
                $"The request target * (a question about the server as a whole) is not answered to {request.Method} here; send requests to the routes the README's route table lists.",
            StatusCodes.Status404NotFound => $"There is no route {request.Method} {request.Path}; the README's route table lists them.",
            StatusCodes.Status405MethodNotAllowed =>
                $"The route {request.Path} does not accept {request.Method}; it accepts {Allowed(context.Response)}.",
            StatusCodes.Status400BadRequest when IsRefusedHost(context) => HostAccess.RefusalDetail(request.Host, HostFiltering(context),
                context.RequestServices.GetRequiredService<IOptions<Configuration.StateServerOptions>>().Value.HasApiKey),
            _ => $"The request was answered {code} {title} before it reached a route.",
        };
        return ApiProblems.Problem(code, code == StatusCodes.Status400BadRequest && IsRefusedHost(context) ? "Host not allowed" : title, detail)
            .ExecuteAsync(context);
    }

    private static string Allowed(HttpResponse response) =>
        response.Headers[HeaderNames.Allow].ToString() is { Length: > 0 } allow ? allow : "other methods";

    private static bool IsRefusedHost(HttpContext context) => !HostAccess.IsAllowed(context.Request.Host, HostFiltering(context));

    private static HostFilteringOptions HostFiltering(HttpContext context) =>
        context.RequestServices.GetRequiredService<IOptionsMonitor<HostFilteringOptions>>().CurrentValue;
}
