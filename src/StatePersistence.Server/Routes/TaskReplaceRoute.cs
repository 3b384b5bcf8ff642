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
/// <c>PUT /api/tasks/{id}</c>: creates or replaces the whole task, in one atomic write of the library
/// (<see cref="IStatePersistence.ReplaceTaskAsync(AgentTask, ExpectedRevision, Action{AgentTask, bool}?, CancellationToken)"/>).
/// The body is stored as given (fields the application adds included), with the route's id, <c>updated_at</c> set
/// now, and <c>created_at</c> kept from the task it replaces (or set now) when the body has none. The fields the
/// server knows are validated as on <c>POST</c>: a description, a known status, ISO-8601 timestamps, log entries with
/// level, type and message. The answer is the task as stored, sent from the bytes the library wrote.
/// </summary>
internal static class TaskReplaceRoute
{
    public static async Task<IResult> PutAsync(string id, HttpRequest request, RequestReader reader,
        IStatePersistence state, QuotaGuard quotas, TimeProvider time, CancellationToken cancellationToken)
    {
        StateId.Validate(id, "task");
        Precondition precondition = Preconditions.Read(request, createOnlyAllowed: true);
        AgentTask body = await reader.ReadJsonAsync(request, TaskReplacementJson.Task);

        // Read with no default id, so null here is an absent or null id (the route's), as everywhere else; "" is not.
        string? bodyId = body.Id;
        if (bodyId is { Length: 0 })
        {
            return ApiProblems.InvalidField("id", $"The body's id is empty; leave it out (or send null, or '{id}') to use the route's id.");
        }

        if (bodyId is not null && !string.Equals(bodyId, id, StringComparison.Ordinal))
        {
            return ApiProblems.InvalidField("id", $"The body's id {StateId.Quote(bodyId)} differs from the route's id '{id}'.");
        }

        body.Id = id;
        body.Logs ??= [];
        FieldRules.Required("description", body.Description);
        FieldRules.Optional("tool", body.Tool);
        FieldRules.TaskStatus("status", body.Status);
        FieldRules.LogEntries(body.Logs);
        quotas.CheckLogMessages(body.Logs);
        body.Status ??= TaskStatuses.Pending;
        // A created task's created_at defaults to its updated_at: the library keeps the replaced task's otherwise.
        body.UpdatedAt = time.GetUtcNow();
        HttpResponse response = request.HttpContext.Response;
        if (await TaskRoutes.UnmetAsync(id, response, precondition, state, cancellationToken) is { } unmet)
        {
            return unmet;
        }

        // If-None-Match: * creates only; If-Match replaces only the revision it names (or any, for *) and never
        // creates. Either is checked by the library in its commit (412 when unmet, by the conflict middleware); the
        // check below refuses the create an If-Match: *, which expects any revision, would otherwise make.
        long sizeAtMost = QuotaGuard.ReplacementSizeAtMost(request.ContentLength, id);
        ItemReplacement stored = await state.ReplaceTaskAsync(body, precondition.Expected, (task, created) =>
        {
            if (created && precondition.MustExist)
            {
                throw new StateConflictException("task", id, precondition.Expected, null, null);
            }

            quotas.CheckTask(task, sizeAtMost);
            if (created)
            {
                quotas.CheckNewTask();
            }
        }, cancellationToken);
        return TaskRoutes.Stored(response, stored);
    }
}
