using System.Net;
using Microsoft.Net.Http.Headers;
using StatePersistence.Server.Access;
using StatePersistence.Server.Http;
using StatePersistence.Server.Problems;

namespace StatePersistence.Server.Dashboard;

/// <summary>
/// <c>GET /login</c> shows the form; <c>POST /login</c> (a form field <c>key</c>, in the body, never in the URL) sets
/// the dashboard's cookie when the key is right, and answers 401 with the form again when it is not, and 429 with
/// <c>Retry-After</c> once the client's address sent too many wrong keys (<see cref="LoginThrottle"/>) or while it has
/// <see cref="BodyBudget.FormsPerAddress"/> forms being read (a problem, not counted as a wrong key);
/// <c>POST /logout</c> removes the cookie and revokes its login (<see cref="DashboardCookie.Revoke"/>).
/// </summary>
internal static class LoginRoutes
{
    public const string Path = "/login";
    private const string MessageSlot = "<!--message-->";

    public static void MapLogin(this IEndpointRouteBuilder routes)
    {
        routes.MapMethods(Path, DashboardRoutes.GetAndHead, (HttpContext context, DashboardCookie cookie) =>
            cookie.Required ? Form(context, null, StatusCodes.Status200OK) : Results.Redirect("/dashboard"));
        routes.MapPost(Path, LoginAsync);
        routes.MapPost("/logout", (HttpContext context, DashboardCookie cookie) =>
        {
            // Refused from now on by this instance, not only deleted from the browser: a copy elsewhere stops working too.
            cookie.Revoke(context);
            DashboardCookie.Delete(context);
            return Results.Redirect(Path, preserveMethod: false);
        });
    }

    private static async Task<IResult> LoginAsync(HttpContext context, DashboardCookie cookie, LoginThrottle throttle, RequestReader reader)
    {
        if (!cookie.Required)
        {
            return Results.Redirect("/dashboard");
        }

        // Before the body is read or the key compared: an address that guessed too often is not heard until its
        // window ends, even with the right key.
        if (throttle.Blocked(context) is { } retryAfter)
        {
            context.Response.Headers.RetryAfter = LoginThrottle.RetryAfterSeconds(retryAfter);
            string wait = LoginThrottle.RetryAfterSeconds(retryAfter);
            return Form(context, throttle.UnderAnotherName(context)
                    ? $"Too many wrong keys were sent from this address under a name that AllowedHosts does not list; try again in {wait} seconds, or log in at localhost, by the server's IP address or under a listed name."
                    : $"Too many wrong keys were sent from this address; try again in {wait} seconds.",
                StatusCodes.Status429TooManyRequests);
        }

        // Urlencoded only, as the form posts: multipart would let anyone, before any key, make the server buffer
        // uploaded files (to disk past 64 KiB) on this open route.
        if (!context.Request.HasFormContentType
            || !MediaTypeHeaderValue.TryParse(context.Request.ContentType, out MediaTypeHeaderValue? type)
            || !type.MediaType.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            return ApiProblems.UnsupportedMediaType(context.Request.ContentType, "application/x-www-form-urlencoded");
        }

        IFormCollection form;
        try
        {
            form = await reader.ReadFormAsync(context.Request);
        }
        catch (ApiProblemException refused) when (refused.Problem is IStatusCodeHttpResult { StatusCode: StatusCodes.Status400BadRequest or StatusCodes.Status413PayloadTooLarge })
        {
            // A form the reader refuses carries no key either: as a guess it must cost what a wrong key costs, or an
            // address would send those without limit. (A 503 for the body budget is the server's state, and a 429 for the
            // forms its address has being read refuses the form unread: neither is counted.)
            throttle.Failed(context);
            throw;
        }

        string? key = form["key"];
        if (string.IsNullOrWhiteSpace(key))
        {
            // Counted like a wrong key: it is not the key, and a 400 that cost nothing could be repeated without limit.
            throttle.Failed(context);
            return Form(context, "Enter the API key (the form field key is empty).", StatusCodes.Status400BadRequest);
        }

        if (!cookie.IsKey(key))
        {
            throttle.Failed(context);
            return Form(context, "That is not the API key of this server.", StatusCodes.Status401Unauthorized);
        }

        cookie.Append(context);
        // 303: the browser follows with a GET, so a reload of the next page does not post the key again.
        context.Response.Headers.Location = "/dashboard";
        return Results.StatusCode(StatusCodes.Status303SeeOther);
    }

    private static IResult Form(HttpContext context, string? message, int status)
    {
        DashboardRoutes.SecurityHeaders(context.Response);
        context.Response.Headers.CacheControl = "no-store";
        string html = DashboardRoutes.Text("login.html").Replace(MessageSlot,
            message is null ? "" : $"<p class=\"error\" role=\"alert\" id=\"login-error\">{WebUtility.HtmlEncode(message)}</p>", StringComparison.Ordinal);
        return Results.Content(html, "text/html; charset=utf-8", statusCode: status);
    }
}
