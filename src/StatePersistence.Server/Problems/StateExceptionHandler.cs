using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Extensions.Options;
using StatePersistence.Errors;
using StatePersistence.Ids;
using StatePersistence.Server.Configuration;
using StatePersistence.Server.Refusals;

namespace StatePersistence.Server.Problems;

/// <summary>
/// Maps exceptions to problem responses: an unsafe id or invalid field is the client's fault (400); a failed save
/// is the server's (503 when retrying may help, else 500), and nothing of that request was stored. A 5xx carries a
/// <c>correlation_id</c> that the server's log line for it carries too, with the exception's message; the response
/// never carries the message, which can hold absolute paths and other details of the host. While storage keeps failing
/// (a database down, a full disk), only the first failure of a spell is a Warning with its cause and correlation id;
/// the rest are summed up every few seconds and each logged at Debug with its own (<see cref="RefusedRequests"/>).
/// </summary>
internal sealed partial class StateExceptionHandler(ILogger<StateExceptionHandler> logger, IOptions<StateServerOptions> options,
    RefusedRequests refused)
    : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        string correlationId = httpContext.TraceIdentifier;
        IResult result = exception switch
        {
            ApiProblemException problem => problem.Problem,
            InvalidStateIdException invalid => ApiProblems.InvalidId(invalid),
            StateValidationException invalid => ApiProblems.InvalidField(invalid.Field, invalid.Message),
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => ApiProblems.TooLarge(options.Value.MaxRequestBodyBytes),
            BadHttpRequestException bad => ApiProblems.Problem(bad.StatusCode, "Bad request", bad.Message),
            // Only a conditional request (If-Match, If-None-Match: *) makes the library check a revision.
            StateConflictException conflict => Http.Preconditions.Failed(httpContext.Response, conflict),
            StateDirectoryMovedException moved => DirectoryMoved(moved, correlationId),
            SessionLogNotDeletedException partly => SessionLogNotDeleted(partly, correlationId),
            SessionLogCheckFailedException appended => SessionLogCheckFailed(appended, correlationId),
            StateOutcomeUnknownException unknown => OutcomeUnknown(unknown, correlationId),
            StatePersistenceException failed => StorageFailed(failed, correlationId),
            ObjectDisposedException => ShuttingDown(correlationId),
            _ => Unexpected(exception, correlationId),
        };
        await result.ExecuteAsync(httpContext).ConfigureAwait(false);
        return true;
    }

    private IResult StorageFailed(StatePersistenceException error, string correlationId)
    {
        // The core logs a failed save, and a read it refuses for a key, where they happen, but not every read failure:
        // this line carries the cause itself, so the correlation id the client got always leads to it.
        int status = error.IsTransient ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status500InternalServerError;
        LogStorageFailed(RefusedRequests.StorageFailed, status, error, correlationId);
        return ApiProblems.Problem(status, "Storage failed",
            "The state could not be read or saved durably; nothing of this request was stored. " +
            $"The server's log has the cause under correlation id {correlationId}.", correlationId: correlationId);
    }

    /// <summary>
    /// A write whose commit lost its answer, which the store could not settle, or whose commit the synchronous standby did
    /// not confirm: it may be stored, so the answer must not say "nothing was stored" (a client that repeated an append on
    /// that logged it twice), nor blame a lost connection the standby case never had; 503, as it is transient.
    /// </summary>
    private IResult OutcomeUnknown(StateOutcomeUnknownException error, string correlationId)
    {
        LogStorageFailed(RefusedRequests.StorageFailed, StatusCodes.Status503ServiceUnavailable, error, correlationId);
        return ApiProblems.Problem(StatusCodes.Status503ServiceUnavailable, "Storage failed, outcome unknown",
            "The store could not confirm whether this request's change was stored durably (the connection to it was lost while the change "
            + "was being committed, or a synchronous standby did not confirm the commit): it may have been stored. Read it back before repeating a request that adds (a log append); repeating one "
            + $"that sets a value is harmless. The server's log has the cause under correlation id {correlationId}.", correlationId: correlationId);
    }

    /// <summary>
    /// A session deleted whose log then failed to go: unlike any other storage failure, part of the request is stored,
    /// so the answer must not say "nothing was stored"; repeating it finishes it, hence 503.
    /// </summary>
    private IResult SessionLogNotDeleted(SessionLogNotDeletedException error, string correlationId)
    {
        LogStorageFailed(RefusedRequests.StorageFailed, StatusCodes.Status503ServiceUnavailable, error, correlationId);
        return ApiProblems.Problem(StatusCodes.Status503ServiceUnavailable, "Session log not deleted",
            $"The session {StateId.Quote(error.SessionId)} was deleted, but its log could not be deleted. Repeat the request: it answers 404 "
            + $"and deletes the log. The server's log has the cause under correlation id {correlationId}.", correlationId: correlationId);
    }

    /// <summary>
    /// A session log append stored, its check after it failed: the answer says the text was appended, so that a client
    /// does not append it again; 500, as a repeat would not finish anything but append a second copy.
    /// </summary>
    private IResult SessionLogCheckFailed(SessionLogCheckFailedException error, string correlationId)
    {
        LogStorageFailed(RefusedRequests.StorageFailed, StatusCodes.Status500InternalServerError, error.Cause, correlationId);
        return ApiProblems.Problem(StatusCodes.Status500InternalServerError, "Session log appended, not checked",
            $"The text was appended to the log of session {StateId.Quote(error.SessionId)} and is durable; do not send it again. The check after it, "
            + "whether a DELETE of the session landed meanwhile (whose log would then be removed), failed in storage. "
            + $"The server's log has the cause under correlation id {correlationId}.", correlationId: correlationId);
    }

    /// <summary>What happened, without the host's paths: the operator has to act, a client can only wait.</summary>
    private IResult DirectoryMoved(StateDirectoryMovedException error, string correlationId)
    {
        LogStorageFailed(RefusedRequests.DirectoryGone, StatusCodes.Status503ServiceUnavailable, error, correlationId);
        return ApiProblems.Problem(StatusCodes.Status503ServiceUnavailable, "State directory gone",
            "The state directory was deleted, moved or replaced while the server was running, so no write is acknowledged: "
            + "it would be stored nowhere a restart looks. Nothing of this request was stored. An operator must put the directory "
            + $"back (or start with an empty one) and restart the server; the server's log has the details under correlation id {correlationId}.",
            correlationId: correlationId);
    }

    /// <summary>The service was disposed under the request: the stop is logged already, so this is only counted.</summary>
    private IResult ShuttingDown(string correlationId)
    {
        refused.Count(RefusedRequests.ShuttingDown, StatusCodes.Status503ServiceUnavailable);
        return ApiProblems.Problem(StatusCodes.Status503ServiceUnavailable, "Shutting down",
            "The server is shutting down; the request was not carried out.", correlationId: correlationId);
    }

    private void LogStorageFailed(string reason, int status, StatePersistenceException error, string correlationId)
    {
        if (refused.LogWhole(reason, status, $"{error.GetType().Name} at {error.Path}: {error.Message}; correlation id {correlationId}"))
        {
            LogStorageFailed(logger, error.GetType().Name, error.Path, error.Message, correlationId);
        }
    }

    /// <summary>
    /// A defect of the server's: counted with the refusals (reason <c>unexpected</c>), where no metric showed it, and
    /// logged as they are, the first of a spell an Error with its stack trace, so that a request a client can repeat
    /// does not write a stack trace per request.
    /// </summary>
    private IResult Unexpected(Exception error, string correlationId)
    {
        if (refused.LogWhole(RefusedRequests.Unexpected, StatusCodes.Status500InternalServerError,
            $"{error.GetType().Name}: {error.Message}; correlation id {correlationId}"))
        {
            LogUnexpected(logger, error, correlationId);
        }

        return ApiProblems.Problem(StatusCodes.Status500InternalServerError, "Internal error",
            $"The request failed inside the server. The server's log has the cause under correlation id {correlationId}.",
            correlationId: correlationId);
    }

    [LoggerMessage(1, LogLevel.Warning, "A request failed in storage ({ErrorType}) at {Path}: {Reason}; correlation id {CorrelationId}")]
    private static partial void LogStorageFailed(ILogger logger, string errorType, string? path, string reason, string correlationId);

    [LoggerMessage(2, LogLevel.Error, "A request failed unexpectedly; correlation id {CorrelationId}")]
    private static partial void LogUnexpected(ILogger logger, Exception exception, string correlationId);
}
