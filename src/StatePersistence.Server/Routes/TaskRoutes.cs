using StatePersistence.Errors;
using StatePersistence.Ids;
using StatePersistence.Model;
using StatePersistence.Server.Contracts;
using StatePersistence.Server.Http;
using StatePersistence.Server.Problems;
using StatePersistence.Server.Quotas;
using StatePersistence.Server.Validation;
using StatePersistence.Storage;

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
        RouteGroupBuilder tasks = routes.MapGroup("/api/tasks").AnswerConflictsWith412();
        tasks.MapPost("", CreateAsync);
        tasks.MapGet("", TaskListRoute.List).TakesQuery(TaskListRoute.Parameters);
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
        Preconditions.RefuseAny(request,
            "POST creates only (409 when the id exists); PUT /api/tasks/{id} takes If-Match and If-None-Match: *.");
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
        ItemReplacement created;
        try
        {
            // Create only: the quotas are checked on the task as stored, in the same atomic write.
            created = await state.ReplaceTaskAsync(task, ExpectedRevision.Absent, (stored, _) =>
            {
                quotas.CheckTask(stored);
                quotas.CheckNewTask();
            }, cancellationToken);
        }
        catch (StateConflictException)
        {
            return ApiProblems.Conflict(Kind, id);
        }

        return Stored(request.HttpContext.Response, created);
    }

    /// <summary>
    /// 201 with its <c>Location</c> when the write created the task, 200 otherwise; the task as the library stored it
    /// and its <c>ETag</c>.
    /// </summary>
    public static IResult Stored(HttpResponse response, ItemReplacement stored)
    {
        Preconditions.SetETag(response, stored.Revision);
        if (stored.Created)
        {
            response.Headers.Location = Location(stored.Id);
        }

        return new StoredJsonResult(stored.Json, stored.Created ? StatusCodes.Status201Created : StatusCodes.Status200OK);
    }

    /// <summary>200 with the task and its <c>ETag</c>.</summary>
    public static IResult Ok(HttpResponse response, AgentTask task)
    {
        Preconditions.SetETag(response, task.Revision);
        return ApiResults.Ok(task, ServerJsonContext.Default.AgentTask);
    }

    private static async Task<IResult> GetAsync(string id, HttpContext context, IStatePersistence state, CancellationToken cancellationToken)
    {
        AgentTask? task = await state.LoadTaskAsync(id, cancellationToken);
        return task is null ? ApiProblems.NotFound(Kind, id)
            : ConditionalGet.Answer(context, Kind, id, task.Revision, task) ?? Ok(context.Response, task);
    }

    /// <summary>
    /// The answer to a conditional write that found no item to change (<c>If-Match</c> on a missing task is 412, as
    /// RFC 9110 says), or a tag that matches no revision; null when the write may go ahead.
    /// </summary>
    public static async Task<IResult?> UnmetAsync(string id, HttpResponse response, Precondition precondition, IStatePersistence state,
        CancellationToken cancellationToken) =>
        precondition.NeverMatches
            ? Preconditions.Failed(response, Kind, id, precondition, await state.LoadTaskAsync(id, cancellationToken), null)
            : null;

    private static async Task<IResult> PatchAsync(string id, HttpRequest request, RequestReader reader,
        IStatePersistence state, QuotaGuard quotas, TimeProvider time, CancellationToken cancellationToken)
    {
        StateId.Validate(id, Kind);
        Precondition precondition = Preconditions.Read(request, createOnlyAllowed: false);
        PatchMediaType.RefuseJsonPatch(request);
        TaskPatchRequest patch = await reader.ReadJsonAsync(request, ServerJsonContext.Default.TaskPatchRequest);
        bool merge = MergePatch.IsMergePatch(request);
        if (merge)
        {
            MergePatch.RefuseRemoving(patch, Kind, "status", "description");
        }

        FieldRules.TaskStatus("status", patch.Status);
        FieldRules.Optional("description", patch.Description);
        if (await UnmetAsync(id, request.HttpContext.Response, precondition, state, cancellationToken) is { } unmet)
        {
            return unmet;
        }

        DateTimeOffset now = time.GetUtcNow();
        AgentTask? updated = await state.UpdateTaskAsync(id, task =>
        {
            if (patch.Status is { } status)
            {
                TaskStamps.ChangeStatus(task, status, now);
            }

            task.Description = patch.Description ?? task.Description;
            task.Result = !merge ? patch.Result ?? task.Result
                : patch.NullFields.Contains("result") ? null
                : patch.Result is { } result ? MergePatch.Apply(task.Result, result)
                : task.Result;
            task.UpdatedAt = now;
            quotas.CheckTask(task);
        }, precondition.Expected, cancellationToken);
        return updated is not null ? Ok(request.HttpContext.Response, updated)
            : precondition.MustExist ? Preconditions.Failed(request.HttpContext.Response, Kind, id, precondition, null, null)
            : ApiProblems.NotFound(Kind, id);
    }

    private static async Task<IResult> DeleteAsync(string id, HttpRequest request, IStatePersistence state, CancellationToken cancellationToken)
    {
        StateId.Validate(id, Kind);
        Precondition precondition = Preconditions.Read(request, createOnlyAllowed: false);
        if (await UnmetAsync(id, request.HttpContext.Response, precondition, state, cancellationToken) is { } unmet)
        {
            return unmet;
        }

        return await state.DeleteTaskAsync(id, precondition.Expected, cancellationToken) ? Results.NoContent()
            : precondition.MustExist ? Preconditions.Failed(request.HttpContext.Response, Kind, id, precondition, null, null)
            : ApiProblems.NotFound(Kind, id);
    }

    private static async Task<IResult> AppendLogAsync(string id, HttpRequest request, RequestReader reader,
        IStatePersistence state, QuotaGuard quotas, TimeProvider time, CancellationToken cancellationToken)
    {
        StateId.Validate(id, Kind);
        Precondition precondition = Preconditions.Read(request, createOnlyAllowed: false);
        TaskLogRequest body = await reader.ReadJsonAsync(request, ServerJsonContext.Default.TaskLogRequest);
        FieldRules.Required("level", body.Level);
        FieldRules.Required("type", body.Type);
        quotas.CheckLogMessage(FieldRules.Required("message", body.Message));

        DateTimeOffset now = time.GetUtcNow();
        var entry = new TaskLogEntry { Timestamp = now, Level = body.Level, Type = body.Type, Message = body.Message };
        // Journals only the entry; the task's updated_at becomes the entry's timestamp (now).
        if (await UnmetAsync(id, request.HttpContext.Response, precondition, state, cancellationToken) is { } unmet)
        {
            return unmet;
        }

        AgentTask? updated;
        try
        {
            // The check runs on the task the append is built on, and the append commits only over that version, so
            // comparing its revision here is atomic with the write.
            updated = await state.AppendTaskLogAsync(id, entry, task =>
            {
                if (!precondition.Expected.IsMetBy(task.Revision))
                {
                    throw new StateConflictException(Kind, id, precondition.Expected, task.Revision, null);
                }

                quotas.CheckTask(task);
            }, cancellationToken);
        }
        catch (StateConflictException)
        {
            // The task the check saw already held the refused entry: answer with the task as stored instead.
            return Preconditions.Failed(request.HttpContext.Response, Kind, id, precondition, await state.LoadTaskAsync(id, cancellationToken), null);
        }

        if (updated is null)
        {
            return precondition.MustExist ? Preconditions.Failed(request.HttpContext.Response, Kind, id, precondition, null, null) : ApiProblems.NotFound(Kind, id);
        }

        // The entry as stored (its message redacted), with the task's new ETag so that a client can chain
        // conditional appends. The returned task is the one the append was built on: the entry is its last.
        Preconditions.SetETag(request.HttpContext.Response, updated.Revision);
        return new JsonBodyResult<TaskLogEntry>(updated.Logs[^1], ServerJsonContext.Default.TaskLogEntry, StatusCodes.Status201Created);
    }
}
