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
        string? only = string.IsNullOrEmpty(status) ? null : status;
        long skip = (long)(pageNumber - 1) * pageSize;
        TaskPage answer = search is null
            ? await ListedPageAsync(state, only, skip, pageNumber, pageSize, cancellationToken)
            : await SearchedPageAsync(state, only, search, skip, pageNumber, pageSize, cancellationToken);
        return ApiResults.Ok(answer, DashboardJsonContext.Default.TaskPage);
    }

    /// <summary>
    /// A page without a search: the listing in its own order, most recently updated first (the store answers it from
    /// its order, on PostgreSQL from an index), read only as far as the page asked for; the total is the count kept
    /// beside the tasks. The dashboard asks again after every burst of events, so the first page costs its own tasks,
    /// not every task (5 s a request at 161k tasks before).
    /// </summary>
    private static async Task<TaskPage> ListedPageAsync(IStatePersistence state, string? status, long skip, int pageNumber, int pageSize,
        CancellationToken cancellationToken)
    {
        IReadOnlyDictionary<string, int> counts = state.CountTasksByStatus();
        int total = status is null ? counts.Values.Sum() : counts.GetValueOrDefault(status);
        var rows = new List<TaskRow>(pageSize);
        string? next = null;
        long passed = 0;
        do
        {
            long wanted = skip - passed + pageSize;
            Querying.TaskPage chunk = await state.QueryTasksAsync(new Querying.TaskQuery
            {
                Status = status,
                Sort = Querying.TaskSort.UpdatedAtDescending,
                Limit = (int)Math.Min(wanted, Querying.TaskQuery.MaxLimit),
                Next = next,
            }, cancellationToken);
            foreach (AgentTask task in chunk.Tasks)
            {
                if (passed++ >= skip)
                {
                    rows.Add(Row(task));
                }
            }

            next = chunk.Next;
        }
        while (next is not null && rows.Count < pageSize);

        return new TaskPage(total, pageNumber, pageSize, rows);
    }

    /// <summary>
    /// A page of a search: a substring of the id, description or tool matches no index, so every task is read once, a
    /// listing page at a time, keeping of each match only its id and the time it sorts by; the tasks of the page asked
    /// for are read again by id. Loading every task at once (logs included) took about 2 GB a request at 100k tasks.
    /// The order is the listing's (<see cref="Querying.TaskSort.UpdatedAtDescending"/>), so a search narrows the list
    /// without reordering it.
    /// </summary>
    private static async Task<TaskPage> SearchedPageAsync(IStatePersistence state, string? status, string search, long skip, int pageNumber,
        int pageSize, CancellationToken cancellationToken)
    {
        var matching = new List<(string Id, long Key)>();
        string? next = null;
        do
        {
            Querying.TaskPage chunk = await state.QueryTasksAsync(new Querying.TaskQuery { Status = status, Next = next }, cancellationToken);
            foreach (AgentTask task in chunk.Tasks)
            {
                if (Contains(task.Id, search) || Contains(task.Description, search) || Contains(task.Tool, search))
                {
                    matching.Add((task.Id, task.UpdatedAt?.UtcTicks ?? long.MinValue));
                }
            }

            next = chunk.Next;
        }
        while (next is not null);

        // Newest first, ties by id descending, tasks without updated_at last: the listing's UpdatedAtDescending.
        matching.Sort(static (a, b) => b.Key.CompareTo(a.Key) is var byTime and not 0 ? byTime : string.CompareOrdinal(b.Id, a.Id));
        var rows = new List<TaskRow>(pageSize);
        foreach ((string id, _) in matching.Skip((int)Math.Min(skip, int.MaxValue)).Take(pageSize))
        {
            // A task deleted since it was listed is left out of the page.
            if (await state.LoadTaskAsync(id, cancellationToken) is { } task)
            {
                rows.Add(Row(task));
            }
        }

        return new TaskPage(matching.Count, pageNumber, pageSize, rows);
    }

    private static TaskRow Row(AgentTask task) => new(task.Id, task.Description, task.Status, task.Tool, task.UpdatedAt ?? task.CreatedAt);

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
