using StatePersistence.Errors;

namespace StatePersistence.Server.Problems;

/// <summary>
/// The server's error responses, as <c>application/problem+json</c>. Each names what is wrong in its detail and,
/// where there is one, in an <c>id</c> or <c>field</c> member a client can act on without parsing text.
/// </summary>
internal static class ApiProblems
{
    private const string MaxRequestBodyBytes = Configuration.StateServerOptions.Section + ":MaxRequestBodyBytes";

    public static IResult Problem(int status, string title, string detail, string? field = null, string? id = null, string? kind = null,
        string? correlationId = null, IReadOnlyDictionary<string, object?>? more = null)
    {
        var extensions = new Dictionary<string, object?>(more ?? new Dictionary<string, object?>(), StringComparer.Ordinal);
        if (correlationId is not null)
        {
            extensions["correlation_id"] = correlationId;
        }

        if (field is not null)
        {
            extensions["field"] = field;
        }

        if (id is not null)
        {
            extensions["id"] = id;
        }

        if (kind is not null)
        {
            extensions["kind"] = kind;
        }

        return TypedResults.Problem(detail, statusCode: status, title: title, type: TypeOf(status), extensions: extensions);
    }

    /// <summary>
    /// The <c>type</c> of a status ASP.NET Core gives none (it fills in the rest), so that every problem has one: the
    /// section of the RFC that defines the status.
    /// </summary>
    private static string? TypeOf(int status) => status switch
    {
        StatusCodes.Status413PayloadTooLarge => "https://tools.ietf.org/html/rfc9110#section-15.5.14",
        StatusCodes.Status416RangeNotSatisfiable => "https://tools.ietf.org/html/rfc9110#section-15.5.17",
        StatusCodes.Status507InsufficientStorage => "https://tools.ietf.org/html/rfc4918#section-11.5",
        _ => null,
    };

    public static IResult InvalidId(InvalidStateIdException error) =>
        Problem(StatusCodes.Status400BadRequest, "Invalid id", error.Message, field: "id", id: error.Id, kind: error.Kind);

    public static IResult InvalidField(string field, string detail) =>
        Problem(StatusCodes.Status400BadRequest, "Invalid field", detail, field: field);

    public static IResult UnknownStatus(string status) =>
        InvalidField("status", $"Unknown status '{status}'; use one of: {string.Join(", ", Model.TaskStatuses.All)}.");

    public static IResult NotFound(string kind, string id) =>
        Problem(StatusCodes.Status404NotFound, "Not found", $"There is no {kind} with id '{id}'.", id: id, kind: kind);

    public static IResult Conflict(string kind, string id) =>
        Problem(StatusCodes.Status409Conflict, "Already exists", $"A {kind} with id '{id}' already exists.", id: id, kind: kind);

    /// <summary>The 413 for a body over MaxRequestBodyBytes; like the quota 413s it names the setting and its value.</summary>
    public static IResult TooLarge(long limit) =>
        Problem(StatusCodes.Status413PayloadTooLarge, "Request body too large",
            $"The request body is larger than {limit} bytes ({MaxRequestBodyBytes}).",
            more: new Dictionary<string, object?> { ["limit"] = MaxRequestBodyBytes, ["limit_value"] = limit });

    public static IResult UnsupportedMediaType(string? sent, string expected) =>
        Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
            $"This route reads a body of Content-Type {expected}" + (expected == "text/plain" ? " (UTF-8)" : "") +
            $"; the request sent {(string.IsNullOrEmpty(sent) ? "none" : "'" + sent + "'")}.");

    /// <summary>The 401, naming the routes that are open without the key (<c>/metrics</c> only when configured so).</summary>
    public static IResult Unauthorized(bool metricsOpen) =>
        Problem(StatusCodes.Status401Unauthorized, "Unauthorized",
            "This server requires 'Authorization: Bearer <key>' with its API key (or the dashboard's login cookie) on every route " +
            "except /health, /login and the dashboard's files under /dashboard/assets/" +
            (metricsOpen ? ", and /metrics (StatePersistence:Server:MetricsWithoutKey)." : "."));
}
