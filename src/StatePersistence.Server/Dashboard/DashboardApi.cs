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
        api.MapGet("/tasks", TasksAsync);
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
        CancellationToken cancellationToken)
    {
        FieldRules.TaskStatus("status", string.IsNullOrEmpty(status) ? null : status);
        int pageNumber = Number("page", page, 1, int.MaxValue, 1);
        int pageSize = Number("size", size, 1, MaxPageSize, 50);
        string? search = string.IsNullOrWhiteSpace(q) ? null : q.Trim();

        // The state is read a listing page at a time, keeping of each match only its id and the time it sorts by; the
        // tasks of the page asked for are read again by id. Loading every task at once (logs included) took about
        // 2 GB a request at 100k tasks.
        var matching = new List<(string Id, DateTimeOffset? At)>();
        string? next = null;
        do
        {
            Querying.TaskPage chunk = await state.QueryTasksAsync(
                new Querying.TaskQuery { Status = string.IsNullOrEmpty(status) ? null : status, Next = next }, cancellationToken);
            foreach (AgentTask task in chunk.Tasks)
            {
                if (search is null || Contains(task.Id, search) || Contains(task.Description, search) || Contains(task.Tool, search))
                {
                    matching.Add((task.Id, task.UpdatedAt ?? task.CreatedAt));
                }
            }

            next = chunk.Next;
        }
        while (next is not null);

        // Most recently updated first (no time last), then by id.
        matching.Sort(static (a, b) => Nullable.Compare(b.At, a.At) is var byTime and not 0 ? byTime : string.CompareOrdinal(a.Id, b.Id));
        var rows = new List<TaskRow>(pageSize);
        foreach ((string id, _) in matching.Skip((int)Math.Min((long)(pageNumber - 1) * pageSize, int.MaxValue)).Take(pageSize))
        {
            // A task deleted since it was listed is left out of the page.
            if (await state.LoadTaskAsync(id, cancellationToken) is { } task)
            {
                rows.Add(new TaskRow(task.Id, task.Description, task.Status, task.Tool, task.UpdatedAt ?? task.CreatedAt));
            }
        }

        return ApiResults.Ok(new TaskPage(matching.Count, pageNumber, pageSize, rows), DashboardJsonContext.Default.TaskPage);
    }

    private static bool Contains(string? text, string search) =>
        text is not null && text.Contains(search, StringComparison.OrdinalIgnoreCase);

    private static int Number(string field, string? text, int min, int max, int fallback)
    {
        if (string.IsNullOrEmpty(text))
        {
            return fallback;
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value < min || value > max)
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
