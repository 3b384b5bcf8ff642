using System.Text.Json;
using StatePersistence.Ids;
using StatePersistence.Server.Contracts;
using StatePersistence.Server.Http;
using StatePersistence.Server.Problems;
using StatePersistence.Server.Quotas;
using StatePersistence.Server.Validation;

namespace StatePersistence.Server.Routes;

/// <summary><c>/api/reports</c>: each report is one file, <c>reports/report_&lt;id&gt;.json</c>.</summary>
internal static class ReportRoutes
{
    private const string Kind = "report";

    public static void MapReportRoutes(this IEndpointRouteBuilder routes)
    {
        RouteGroupBuilder reports = routes.MapGroup("/api/reports");
        reports.MapPost("", CreateAsync);
        reports.MapGet("", ListAsync).TakesQuery("after", "limit");
        reports.MapGet("/{id}", GetAsync);
    }

    /// <summary>Saves <c>{ id, type, created_at, data }</c>; a report with the same id is replaced.</summary>
    private static async Task<IResult> CreateAsync(HttpRequest request, RequestReader reader, IStatePersistence state,
        QuotaGuard quotas, TimeProvider time, CancellationToken cancellationToken)
    {
        // A report has no revision, so no condition can be checked atomically with its save, which replaces.
        Preconditions.RefuseAny(request, "a report has no revision or ETag, and a POST with an existing id replaces that report.");
        CreateReportRequest body = await reader.ReadJsonAsync(request, ServerJsonContext.Default.CreateReportRequest);
        string id = body.Id ?? NewIds.Create("", time);
        StateId.Validate(id, Kind);
        string type = FieldRules.Required("type", body.Type);
        if (body.Data is not { } data)
        {
            return ApiProblems.InvalidField("data", "The field 'data' is required (any JSON value but null).");
        }

        await quotas.CheckNewReportAsync(id, cancellationToken);
        var report = new StoredReport { Id = id, Type = type, CreatedAt = time.GetUtcNow(), Data = data };
        JsonElement json = JsonSerializer.SerializeToElement(report, ServerJsonContext.Default.StoredReport);
        string path = await state.SaveReportAsync(id, json, cancellationToken);

        // Relative to the state directory: where the server keeps its state is the operator's business.
        string relative = Path.GetRelativePath(state.Location, path).Replace(Path.DirectorySeparatorChar, '/');
        return ApiResults.Created(request.HttpContext.Response, "/api/reports/" + id, new ReportCreatedResponse(id, relative),
            ServerJsonContext.Default.ReportCreatedResponse);
    }

    /// <summary>The ids of the reports, sorted, one page at a time.</summary>
    private static async Task<IResult> ListAsync(HttpContext context, IStatePersistence state, CancellationToken cancellationToken,
        string? after = null, string? limit = null)
    {
        int size = Paging.Limit(limit);
        IReadOnlyList<string> page = await state.ListReportsAsync(string.IsNullOrEmpty(after) ? null : after, size, cancellationToken);
        Paging.Next(context, page, size, i => i);
        return ApiResults.Ok(page, ServerJsonContext.Default.IReadOnlyListString);
    }

    private static async Task<IResult> GetAsync(string id, IStatePersistence state, CancellationToken cancellationToken)
    {
        JsonElement? report = await state.LoadReportAsync(id, cancellationToken);
        return report is { } json ? ApiResults.Ok(json, ServerJsonContext.Default.JsonElement) : ApiProblems.NotFound(Kind, id);
    }
}
