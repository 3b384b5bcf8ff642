using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StatePersistence.Model;
using StatePersistence.Server.Contracts;
using StatePersistence.Server.Events;
using StatePersistence.Server.Health;
using StatePersistence.Server.Http;
using StatePersistence.Server.Problems;
using StatePersistence.Server.Quotas;
using StatePersistence.Server.Validation;

namespace StatePersistence.Server.Dashboard;

/// <summary>
/// The answers the dashboard needs beyond the API's own: <c>GET /api/dashboard/overview</c> (counts, save rate,
/// health, disk, backups), <c>GET /api/dashboard/tasks</c> (filtered, searched and paged) and
/// <c>GET /api/dashboard/recovery</c> (the last recovery report). Same access rules as the rest of <c>/api</c>.
/// </summary>
internal static class DashboardApi
{
    public const int MaxPageSize = 200;

    public static void MapDashboardApi(this IEndpointRouteBuilder routes)
    {
        RouteGroupBuilder api = routes.MapGroup("/api/dashboard");
        api.MapGet("/overview", OverviewAsync);
        api.MapGet("/tasks", TasksAsync).TakesQuery("status", "q", "page", "size", "offset");
        api.MapGet("/recovery", (IStatePersistence state) => state.LastRecovery is { } report
            ? ApiResults.Ok(report, ServerJsonContext.Default.RecoveryReport)
            : ApiProblems.Problem(StatusCodes.Status404NotFound, "Not found", "No recovery has run yet."));
    }

    private static async Task<IResult> OverviewAsync(IStatePersistence state, EventHub hub, HealthCache health,
        QuotaGuard quotas, TimeProvider time, CancellationToken cancellationToken)
    {
        // Counted from the status kept beside each stored task: deserializing every task to count them took 9-15 s
        // and gigabytes per request at 100k tasks.
        IReadOnlyDictionary<string, int> byStatus = state.CountTasksByStatus();
        var counts = TaskStatuses.All.ToDictionary(s => s, s => byStatus.GetValueOrDefault(s), StringComparer.Ordinal);

        HealthReport report = await health.GetAsync(cancellationToken);
        string[] reasons = [.. report.Entries.Values.Where(e => e.Status != HealthStatus.Healthy && e.Description is not null).Select(e => e.Description!)];
        StateMetricsTimes times = LastSave(report, time);
        return ApiResults.Ok(new DashboardOverview(counts, byStatus.Values.Sum(), state.SessionCount, hub.SavesPerSecond, state.Revision,
            times.LastSave, times.AgeSeconds, report.Status.ToString(), reasons, quotas.FreeDiskBytes(), StateFiles.BytesByKind(report),
            StateFiles.Backups(state.Location)), DashboardJsonContext.Default.DashboardOverview);
    }

    private static async Task<IResult> TasksAsync(IStatePersistence state, string? status, string? q, string? page, string? size,
        string? offset, CancellationToken cancellationToken)
    {
        FieldRules.TaskStatus("status", string.IsNullOrEmpty(status) ? null : status);
        int pageNumber = Number("page", page, 1, int.MaxValue, 1);
        int pageSize = Number("size", size, 1, MaxPageSize, 50);
        // Where a page cut short by its bytes goes on (its next_offset); otherwise the page's first position.
        long start = string.IsNullOrEmpty(offset) ? (long)(pageNumber - 1) * pageSize : Number("offset", offset, 0, int.MaxValue, 0);
        var filter = new Querying.TaskQuery
        {
            Status = string.IsNullOrEmpty(status) ? null : status,
            Search = Routes.TaskListRoute.Search(q),
            Sort = Querying.TaskSort.UpdatedAtDescending,
        };
        return ApiResults.Ok(await PageAsync(state, filter, pageNumber, pageSize, start, cancellationToken), DashboardJsonContext.Default.TaskPage);
    }

    /// <summary>
    /// One page of the list, most recently updated first (the listing's order), read only as far as the page asked for;
    /// the total counted from the fields kept beside each task (a search reads each task's description from its stored
    /// JSON, deserializing none). The dashboard asks again after every burst of events, so a page costs its own tasks,
    /// not every task: reading every task for every page took 0.9-1.6 s a request at 100k tasks, 5 s at 161k. A page
    /// that starts at or past the total is answered at once: walking the listing to find it empty cost every task, and
    /// in a time order every chunk of the walk scanned every task again. The page's tasks come from one chunk of the
    /// listing, cut like a page of <c>GET /api/tasks</c> at <see cref="Querying.TaskQuery.DefaultMaxBytes"/> of stored
    /// JSON: 200 tasks near the task quota made an answer of 200 MB. A page so cut says where the rest starts.
    /// </summary>
    private static async Task<TaskPage> PageAsync(IStatePersistence state, Querying.TaskQuery filter, int pageNumber, int pageSize, long start,
        CancellationToken cancellationToken)
    {
        int total = state.CountTasks(filter);
        var rows = new List<TaskRow>(pageSize);
        if (start >= total)
        {
            return new TaskPage(total, pageNumber, pageSize, rows, null);
        }

        string? next = null;
        long passed = 0;
        while (true)
        {
            // A chunk holds the whole page or none of it, so the page's tasks come from one chunk, bounded as it is.
            long toSkip = start - passed;
            int limit = (int)(toSkip + pageSize <= Querying.TaskQuery.MaxLimit ? toSkip + pageSize : Math.Min(toSkip, Querying.TaskQuery.MaxLimit));
            Querying.TaskPage chunk = await state.QueryTasksAsync(filter with { Limit = limit, Next = next }, cancellationToken);
            foreach (AgentTask task in chunk.Tasks)
            {
                if (passed++ >= start)
                {
                    rows.Add(Row(task));
                }
            }

            next = chunk.Next;
            if (next is null || rows.Count == pageSize)
            {
                return new TaskPage(total, pageNumber, pageSize, rows, null);
            }

            if (rows.Count > 0)
            {
                // Cut by its bytes (a chunk that holds the page ends with it otherwise): the rest is another chunk's worth.
                return new TaskPage(total, pageNumber, pageSize, rows, start + rows.Count);
            }
        }
    }

    private static TaskRow Row(AgentTask task) => new(task.Id, task.Description, task.Status, task.Tool, task.UpdatedAt ?? task.CreatedAt);

    private static int Number(string field, string? text, int min, int max, int fallback)
    {
        if (string.IsNullOrEmpty(text))
        {
            return fallback;
        }

        if (!WholeNumber.TryParse(text, out int value) || value < min || value > max)
        {
            throw ApiProblemException.InvalidField(field, $"The query parameter '{field}' must be a whole number from {min} to {max}.");
        }

        return value;
    }

    /// <summary>The last durable snapshot's time, as the health check (cached, like <c>/health</c>) reported it.</summary>
    private static StateMetricsTimes LastSave(HealthReport report, TimeProvider time)
    {
        foreach (HealthReportEntry entry in report.Entries.Values)
        {
            if (entry.Data.TryGetValue("last_save_time", out object? value) && value is string text
                && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset at))
            {
                return new StateMetricsTimes(at, Math.Max(0, (time.GetUtcNow() - at).TotalSeconds));
            }
        }

        return new StateMetricsTimes(null, null);
    }

    private readonly record struct StateMetricsTimes(DateTimeOffset? LastSave, double? AgeSeconds);
}
