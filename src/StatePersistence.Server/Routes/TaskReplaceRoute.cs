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
/// <c>PUT /api/tasks/{id}</c>: creates or replaces the whole task. The body is stored as given (fields the
/// application adds included), with the route's id, <c>updated_at</c> set now, and <c>created_at</c> kept from the
/// task it replaces (or set now) when the body has none. The fields the server knows are validated as on
/// <c>POST</c>: a description, a known status, ISO-8601 timestamps, log entries with level, type and message.
/// </summary>
internal static class TaskReplaceRoute
{
    // Replace-or-create is two atomic steps; a concurrent create or delete between them makes one retry necessary,
    // and a client racing us for longer than this is told so rather than looped on.
    private const int Attempts = 3;

    public static async Task<IResult> PutAsync(string id, HttpRequest request, RequestReader reader,
        IStatePersistence state, QuotaGuard quotas, TimeProvider time, CancellationToken cancellationToken)
    {
        StateId.Validate(id, "task");
        Precondition precondition = Preconditions.Read(request, createOnlyAllowed: true);
        AgentTask body = await reader.ReadJsonAsync(request, ServerJsonContext.Default.AgentTask);

        // JSON null reaches a non-nullable property as null: absent and null mean the same, as everywhere else.
        string? bodyId = body.Id;
        if (!string.IsNullOrEmpty(bodyId) && !string.Equals(bodyId, id, StringComparison.Ordinal))
        {
            return ApiProblems.InvalidField("id", $"The body's id {StateId.Quote(bodyId)} differs from the route's id '{id}'.");
        }

        body.Id = id;
        body.Logs ??= [];
        FieldRules.Required("description", body.Description);
        FieldRules.Optional("tool", body.Tool);
        FieldRules.TaskStatus("status", body.Status);
        FieldRules.LogEntries(body.Logs);
        body.Status ??= TaskStatuses.Pending;
        if (precondition.Any)
        {
            return await ConditionalAsync(id, request.HttpContext.Response, body, precondition, state, quotas, time, cancellationToken);
        }

        long sizeAtMost = QuotaGuard.ReplacementSizeAtMost(request.ContentLength, id);
        for (int attempt = 0; attempt < Attempts; attempt++)
        {
            DateTimeOffset now = time.GetUtcNow();
            AgentTask? replaced = await state.UpdateTaskAsync(id, current =>
            {
                Replace(current, body, now);
                quotas.CheckTask(current, sizeAtMost);
            }, cancellationToken);
            if (replaced is not null)
            {
                return TaskRoutes.Ok(request.HttpContext.Response, replaced);
            }

            body.CreatedAt ??= now;
            body.UpdatedAt = now;
            quotas.CheckTask(body, sizeAtMost);
            quotas.CheckNewTask();
            if (await state.CreateTaskAsync(body, cancellationToken))
            {
                // Read back for the revision the store gave it; the body's own revision was ignored.
                return TaskRoutes.Created(request.HttpContext.Response, await state.LoadTaskAsync(id, cancellationToken) ?? body);
            }
        }

        return ApiProblems.Problem(StatusCodes.Status409Conflict, "Concurrent change",
            $"The task '{id}' was created and deleted concurrently while it was being replaced; try again.", id: id, kind: "task");
    }

    /// <summary>
    /// <c>If-None-Match: *</c> creates only; <c>If-Match</c> replaces only the revision it names (or any, for <c>*</c>)
    /// and never creates. Either is one conditional write the library checks in its commit (412 when unmet).
    /// </summary>
    private static async Task<IResult> ConditionalAsync(string id, HttpResponse response, AgentTask body, Precondition precondition,
        IStatePersistence state, QuotaGuard quotas, TimeProvider time, CancellationToken cancellationToken)
    {
        DateTimeOffset now = time.GetUtcNow();
        if (precondition.CreateOnly)
        {
            body.CreatedAt ??= now;
            body.UpdatedAt = now;
            quotas.CheckTask(body);
            quotas.CheckNewTask();
            await state.SaveTaskAsync(body, ExpectedRevision.Absent, cancellationToken);
            return TaskRoutes.Created(response, await state.LoadTaskAsync(id, cancellationToken) ?? body);
        }

        if (await TaskRoutes.UnmetAsync(id, response, precondition, state, cancellationToken) is { } unmet)
        {
            return unmet;
        }

        AgentTask? replaced = await state.UpdateTaskAsync(id, current =>
        {
            Replace(current, body, now);
            quotas.CheckTask(current);
        }, precondition.Expected, cancellationToken);
        return replaced is null
            ? Preconditions.Failed(response, "task", id, precondition, null, null)
            : TaskRoutes.Ok(response, replaced);
    }

    private static void Replace(AgentTask current, AgentTask body, DateTimeOffset now)
    {
        current.Description = body.Description;
        current.Status = body.Status;
        current.Tool = body.Tool;
        current.CreatedAt = body.CreatedAt ?? current.CreatedAt ?? now;
        current.UpdatedAt = now;
        current.StartedAt = body.StartedAt;
        current.CompletedAt = body.CompletedAt;
        current.Logs = body.Logs ?? [];
        current.Result = body.Result;
        current.ExtensionData = body.ExtensionData;
    }
}
