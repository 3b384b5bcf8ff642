using StatePersistence.Ids;
using StatePersistence.Model;
using StatePersistence.Server.Contracts;
using StatePersistence.Server.Http;
using StatePersistence.Server.Problems;
using StatePersistence.Server.Quotas;
using StatePersistence.Server.Validation;

namespace StatePersistence.Server.Routes;

/// <summary>
/// <c>/api/tasks</c>. Every write goes through the service's atomic operations (create-if-absent, read-modify-write)
/// and is answered only once it is durable; an unsafe id is refused (400) before anything is written.
/// </summary>
internal static class TaskRoutes
{
    private const string Kind = "task";

    public static void MapTaskRoutes(this IEndpointRouteBuilder routes)
    {
        RouteGroupBuilder tasks = routes.MapGroup("/api/tasks");
        tasks.MapPost("", CreateAsync);
        tasks.MapGet("", ListAsync);
        tasks.MapGet("/{id}", GetAsync);
        tasks.MapPut("/{id}", TaskReplaceRoute.PutAsync);
        tasks.MapPatch("/{id}", PatchAsync);
        tasks.MapDelete("/{id}", DeleteAsync);
        tasks.MapPost("/{id}/logs", AppendLogAsync);
    }

    /// <summary>The location of a task, for <c>Location</c> headers.</summary>
    public static string Location(string id) => "/api/tasks/" + id;

    private static async Task<IResult> CreateAsync(HttpRequest request, RequestReader reader, IStatePersistence state,
        QuotaGuard quotas, TimeProvider time, CancellationToken cancellationToken)
    {
        CreateTaskRequest body = await reader.ReadJsonAsync(request, ServerJsonContext.Default.CreateTaskRequest);
        string id = body.Id ?? NewIds.Create("task_", time);
        StateId.Validate(id, Kind);
        FieldRules.Required("description", body.Description);
        FieldRules.Optional("tool", body.Tool);
        FieldRules.TaskStatus("status", body.Status);
        string status = body.Status ?? TaskStatuses.Pending;

        DateTimeOffset now = time.GetUtcNow();
        var task = new AgentTask { Id = id, Description = body.Description, Tool = body.Tool, CreatedAt = now, UpdatedAt = now };
        TaskStamps.ChangeStatus(task, status, now);
        quotas.CheckTask(task);
        if (await state.LoadTaskAsync(id, cancellationToken) is null)
        {
            quotas.CheckNewTask();
        }

        if (!await state.CreateTaskAsync(task, cancellationToken))
        {
            return ApiProblems.Conflict(Kind, id);
        }

        // Read back for the revision the store gave it (the service does not change the object it was given).
        return ApiResults.Created(request.HttpContext.Response, Location(id), await state.LoadTaskAsync(id, cancellationToken) ?? task,
            ServerJsonContext.Default.AgentTask);
    }

    private static IResult ListAsync(HttpContext context, IStatePersistence state, string? status = null, string? after = null,
        string? limit = null)
    {
        // "?status=" with no value means no filter, as a form or a shell variable that is empty would send it.
        status = string.IsNullOrEmpty(status) ? null : status;
        if (status is not null && !TaskStatuses.IsKnown(status))
        {
            return ApiProblems.UnknownStatus(status);
        }

        int size = Paging.Limit(limit);
        IReadOnlyList<AgentTask> page = state.LoadTasksPage(status, string.IsNullOrEmpty(after) ? null : after, size);
        Paging.Next(context, page, size, t => t.Id);
        return ApiResults.Ok(page, ServerJsonContext.Default.IReadOnlyListAgentTask);
    }

    private static async Task<IResult> GetAsync(string id, IStatePersistence state, CancellationToken cancellationToken)
    {
        AgentTask? task = await state.LoadTaskAsync(id, cancellationToken);
        return task is null ? ApiProblems.NotFound(Kind, id) : ApiResults.Ok(task, ServerJsonContext.Default.AgentTask);
    }

    private static async Task<IResult> PatchAsync(string id, HttpRequest request, RequestReader reader,
        IStatePersistence state, QuotaGuard quotas, TimeProvider time, CancellationToken cancellationToken)
    {
        StateId.Validate(id, Kind);
        TaskPatchRequest patch = await reader.ReadJsonAsync(request, ServerJsonContext.Default.TaskPatchRequest);
        FieldRules.TaskStatus("status", patch.Status);
        FieldRules.Optional("description", patch.Description);

        DateTimeOffset now = time.GetUtcNow();
        AgentTask? updated = await state.UpdateTaskAsync(id, task =>
        {
            if (patch.Status is { } status)
            {
                TaskStamps.ChangeStatus(task, status, now);
            }

            task.Description = patch.Description ?? task.Description;
            task.Result = patch.Result ?? task.Result;
            task.UpdatedAt = now;
            quotas.CheckTask(task);
        }, cancellationToken);
        return updated is null ? ApiProblems.NotFound(Kind, id) : ApiResults.Ok(updated, ServerJsonContext.Default.AgentTask);
    }

    private static async Task<IResult> DeleteAsync(string id, IStatePersistence state, CancellationToken cancellationToken) =>
        await state.DeleteTaskAsync(id, cancellationToken) ? Results.NoContent() : ApiProblems.NotFound(Kind, id);

    private static async Task<IResult> AppendLogAsync(string id, HttpRequest request, RequestReader reader,
        IStatePersistence state, QuotaGuard quotas, TimeProvider time, CancellationToken cancellationToken)
    {
        StateId.Validate(id, Kind);
        TaskLogRequest body = await reader.ReadJsonAsync(request, ServerJsonContext.Default.TaskLogRequest);
        FieldRules.Required("level", body.Level);
        FieldRules.Required("type", body.Type);
        quotas.CheckLogMessage(FieldRules.Required("message", body.Message));

        DateTimeOffset now = time.GetUtcNow();
        var entry = new TaskLogEntry { Timestamp = now, Level = body.Level, Type = body.Type, Message = body.Message };
        // Journals only the entry; the task's updated_at becomes the entry's timestamp (now).
        AgentTask? updated = await state.AppendTaskLogAsync(id, entry, quotas.CheckTask, cancellationToken);
        return updated is null
            ? ApiProblems.NotFound(Kind, id)
            : Results.Json(entry, ServerJsonContext.Default.TaskLogEntry, statusCode: StatusCodes.Status201Created);
    }
}
