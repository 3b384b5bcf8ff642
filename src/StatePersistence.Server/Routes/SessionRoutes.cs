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

/// <summary><c>/api/sessions</c>: sessions and their plain-text logs (<c>logs/session_&lt;id&gt;.log</c>).</summary>
internal static class SessionRoutes
{
    private const string Kind = "session";

    public static void MapSessionRoutes(this IEndpointRouteBuilder routes)
    {
        RouteGroupBuilder sessions = routes.MapGroup("/api/sessions").AnswerConflictsWith412();
        sessions.MapGet("", ListAsync).TakesQuery("after", "limit");
        sessions.MapPost("", CreateAsync);
        sessions.MapGet("/{id}", GetAsync);
        sessions.MapPatch("/{id}", PatchAsync);
        sessions.MapDelete("/{id}", DeleteAsync);
        sessions.MapPost("/{id}/log", AppendLogAsync);
        sessions.MapGet("/{id}/log", ReadLogAsync);
        sessions.MapDelete("/{id}/log", DeleteLogAsync);
    }

    private static IResult ListAsync(HttpContext context, IStatePersistence state, string? after = null, string? limit = null)
    {
        int size = Paging.Limit(limit);
        IReadOnlyList<SessionInfo> page = state.LoadSessionsPage(string.IsNullOrEmpty(after) ? null : after, size);
        Paging.Next(context, page, size, s => s.Id);
        return ApiResults.Ok(page, ServerJsonContext.Default.IReadOnlyListSessionInfo);
    }

    private static async Task<IResult> CreateAsync(HttpRequest request, RequestReader reader, IStatePersistence state,
        QuotaGuard quotas, TimeProvider time, CancellationToken cancellationToken)
    {
        Preconditions.RefuseAny(request, "POST creates only (409 when the id exists); PATCH /api/sessions/{id} takes If-Match.");
        CreateSessionRequest body = await reader.ReadJsonAsync(request, ServerJsonContext.Default.CreateSessionRequest);
        string id = body.Id ?? NewIds.Create("session_", time);
        StateId.Validate(id, Kind);
        FieldRules.Token("type", FieldRules.Required("type", body.Type));
        FieldRules.Token("status", FieldRules.Required("status", body.Status));

        if (InvalidTaskId(body.TaskId) is { } problem)
        {
            return problem;
        }

        var session = new SessionInfo { Id = id, Type = body.Type, Status = body.Status, TaskId = body.TaskId, CreatedAt = time.GetUtcNow() };
        quotas.CheckSession(session);
        if (await state.LoadSessionAsync(id, cancellationToken) is null)
        {
            quotas.CheckNewSession();
        }

        if (!await state.CreateSessionAsync(session, cancellationToken))
        {
            return ApiProblems.Conflict(Kind, id);
        }

        // Read back for the revision the store gave it (the service does not change the object it was given).
        SessionInfo created = await state.LoadSessionAsync(id, cancellationToken) ?? session;
        Preconditions.SetETag(request.HttpContext.Response, created.Revision);
        return ApiResults.Created(request.HttpContext.Response, "/api/sessions/" + id, created, ServerJsonContext.Default.SessionInfo);
    }

    private static async Task<IResult> GetAsync(string id, HttpContext context, IStatePersistence state, CancellationToken cancellationToken)
    {
        SessionInfo? session = await state.LoadSessionAsync(id, cancellationToken);
        return session is null ? ApiProblems.NotFound(Kind, id)
            : ConditionalGet.Answer(context, Kind, id, session.Revision, session) ?? Ok(context.Response, session);
    }

    /// <summary>200 with the session and its <c>ETag</c>.</summary>
    private static IResult Ok(HttpResponse response, SessionInfo session)
    {
        Preconditions.SetETag(response, session.Revision);
        return ApiResults.Ok(session, ServerJsonContext.Default.SessionInfo);
    }

    private static async Task<IResult> PatchAsync(string id, HttpRequest request, RequestReader reader,
        IStatePersistence state, QuotaGuard quotas, CancellationToken cancellationToken)
    {
        StateId.Validate(id, Kind);
        Precondition precondition = Preconditions.Read(request, createOnlyAllowed: false);
        PatchMediaType.RefuseJsonPatch(request);
        SessionPatchRequest patch = await reader.ReadJsonAsync(request, ServerJsonContext.Default.SessionPatchRequest);
        bool merge = MergePatch.IsMergePatch(request);
        if (merge)
        {
            MergePatch.RefuseRemoving(patch, Kind, "type", "status");
        }

        FieldRules.Token("type", patch.Type);
        FieldRules.Token("status", patch.Status);
        if (InvalidTaskId(patch.TaskId) is { } problem)
        {
            return problem;
        }

        if (precondition.NeverMatches)
        {
            return Preconditions.Failed(request.HttpContext.Response, Kind, id, precondition, null, await state.LoadSessionAsync(id, cancellationToken));
        }

        SessionInfo? updated = await state.UpdateSessionAsync(id, session =>
        {
            session.Type = patch.Type ?? session.Type;
            session.Status = patch.Status ?? session.Status;
            session.TaskId = merge && patch.NullFields.Contains("task_id") ? null : patch.TaskId ?? session.TaskId;
            quotas.CheckSession(session);
        }, precondition.Expected, cancellationToken);
        return updated is not null ? Ok(request.HttpContext.Response, updated)
            : precondition.MustExist ? Preconditions.Failed(request.HttpContext.Response, Kind, id, precondition, null, null)
            : ApiProblems.NotFound(Kind, id);
    }

    /// <summary>
    /// Deletes the session, then its log (the library's <see cref="IStatePersistence.DeleteSessionAsync(string, ExpectedRevision, CancellationToken)"/>):
    /// 204 once both are gone for good. A 404 still deletes a log a failed or interrupted delete left behind, so
    /// repeating the request finishes it.
    /// </summary>
    private static async Task<IResult> DeleteAsync(string id, HttpRequest request, IStatePersistence state, CancellationToken cancellationToken)
    {
        StateId.Validate(id, Kind);
        Precondition precondition = Preconditions.Read(request, createOnlyAllowed: false);
        if (precondition.NeverMatches)
        {
            return Preconditions.Failed(request.HttpContext.Response, Kind, id, precondition, null, await state.LoadSessionAsync(id, cancellationToken));
        }

        // "If-Match: *" on no session is a 412 that deletes nothing: the library's unconditional delete would remove a
        // log left under the id, which only a plain DELETE (404) may do.
        if (precondition.MustExist && !await ExistsAsync(state, id, cancellationToken))
        {
            return Preconditions.Failed(request.HttpContext.Response, Kind, id, precondition, null, null);
        }

        return await state.DeleteSessionAsync(id, precondition.Expected, cancellationToken) ? Results.NoContent()
            : precondition.MustExist ? Preconditions.Failed(request.HttpContext.Response, Kind, id, precondition, null, null)
            : ApiProblems.NotFound(Kind, id);
    }

    /// <summary>
    /// Deletes the session's log, every part of it, and keeps the session: 204 once it is gone for good (also when
    /// nothing was logged); 404 when there is neither a session nor a log.
    /// <para>Whether there is a log under the id, for a session that is not there (a library user's log, or one an
    /// interrupted delete left, is deleted like any), is asked of the store, which answers without reading the log's
    /// text (the file store looks for its files). Before 2026-12-07 the log was opened: every append read and verified
    /// (a full read of a big orphan log), and a log under a key the key file no longer opens was refused, so it could
    /// not be deleted this way; asking its live log's size first still opened a log whose text was all in rotated parts
    /// (SessionLogDeleteExistenceTests).</para>
    /// </summary>
    private static async Task<IResult> DeleteLogAsync(string id, HttpRequest request, IStatePersistence state, CancellationToken cancellationToken)
    {
        StateId.Validate(id, Kind);
        Preconditions.RefuseAny(request, "a session log carries no revision, so there is nothing to compare.");
        if (!await ExistsAsync(state, id, cancellationToken) && !await state.SessionLogExistsAsync(id, cancellationToken))
        {
            return ApiProblems.NotFound(Kind, id);
        }

        await state.DeleteSessionLogAsync(id, cancellationToken);
        return Results.NoContent();
    }

    /// <summary>Appends the body, as sent, to the session's log; answers 204 once the text is durable.</summary>
    private static async Task<IResult> AppendLogAsync(string id, HttpRequest request, RequestReader reader,
        IStatePersistence state, QuotaGuard quotas, CancellationToken cancellationToken)
    {
        Preconditions.RefuseAny(request,
            "a session log append does not change the session's revision, so there is nothing to compare.");

        if (!await ExistsAsync(state, id, cancellationToken))
        {
            return ApiProblems.NotFound(Kind, id);
        }

        string text = await reader.ReadTextAsync(request);
        if (text.Length == 0)
        {
            return ApiProblems.Problem(StatusCodes.Status400BadRequest, "Missing body", "The request body is empty; send the log text to append.");
        }

        await quotas.CheckSessionLogAppendAsync(id, System.Text.Encoding.UTF8.GetByteCount(text), cancellationToken);
        await state.AppendSessionLogAsync(id, text, cancellationToken);

        // A DELETE of the session between the check above and the append deleted its log before the append wrote a
        // new one, which a later session with the same id would then continue. The delete removes the record before
        // the log, so either it is seen gone here (and the log is removed now) or its own removal comes after this
        // append. Asked of the store, not of this instance's state: on a store several instances share, another
        // instance's delete reaches that state a moment late, and the text would stay. A session created anew under the
        // id meanwhile (here or on another instance) may already have appended to the log: the removal looks again
        // while holding appends back, as a delete does, and keeps the log of a session that is there (this text then
        // in it: 204). The wait for the store ends with the request (a client gone needs no answer); the removal, once
        // decided, is not left half done.
        try
        {
            if (await state.LoadLatestSessionAsync(id, request.HttpContext.RequestAborted) is null
                && await state.DeleteSessionLogIfNoSessionAsync(id, request.HttpContext.RequestAborted))
            {
                return ApiProblems.NotFound(Kind, id);
            }
        }
        catch (StatePersistenceException failed)
        {
            // The text is durable by now: "nothing of this request was stored" would make a client append it twice.
            throw new SessionLogCheckFailedException(id, failed);
        }

        return Results.NoContent();
    }

    /// <summary>
    /// The log's text as appended, each append's checksum verified (with <c>Range</c> for a part of it, <c>206</c>;
    /// see <see cref="ByteRangeResult"/>); empty for a session that has logged nothing, ranges answered alike. The file
    /// holds framed appends, so the text is read through the library rather than sent
    /// from the file: opened (its length counted, every append verified), then sent an append at a time, so a read
    /// holds a few appends in memory whatever the log's size. A log a library user appended without a session reads
    /// like any other.
    /// </summary>
    private static async Task<IResult> ReadLogAsync(string id, IStatePersistence state, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        StateId.Validate(id, Kind);
        ISessionLogReader? text = await state.OpenSessionLogAsync(id, cancellationToken);
        if (text is null && await state.LoadSessionAsync(id, cancellationToken) is null)
        {
            return ApiProblems.NotFound(Kind, id);
        }

        return new ByteRangeResult(text, "text/plain; charset=utf-8", loggers.CreateLogger(typeof(ByteRangeResult).FullName!));
    }

    /// <summary>
    /// Whether the session exists: this instance's state first, then, over a shared store, the store's (another
    /// instance may have just created it, and "not found" must be the store's answer, not a copy trailing it).
    /// </summary>
    private static async Task<bool> ExistsAsync(IStatePersistence state, string id, CancellationToken cancellationToken) =>
        (await state.LoadSessionAsync(id, cancellationToken) ?? await state.LoadLatestSessionAsync(id, cancellationToken)) is not null;

    /// <summary>A session's task id must be one a task could have, though the task need not exist (yet).</summary>
    private static IResult? InvalidTaskId(string? taskId) =>
        taskId is not null && StateId.Problem(taskId) is { } problem
            ? ApiProblems.InvalidField("task_id", $"Invalid task_id {StateId.Quote(taskId)}: {problem}.")
            : null;
}
