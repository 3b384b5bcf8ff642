using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Extensions.Options;
using StatePersistence.Errors;
using StatePersistence.Server.Configuration;

namespace StatePersistence.Server.Problems;

/// <summary>
/// Maps the library's exceptions to problem responses: an unsafe id or invalid field is the client's fault (400);
/// a failed save is the server's (503 when retrying may help, else 500), and nothing of that request was stored.
/// Anything else falls through to the default 500 problem.
/// </summary>
internal sealed partial class StateExceptionHandler(ILogger<StateExceptionHandler> logger, IOptions<StateServerOptions> options)
    : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        IResult? result = exception switch
        {
            ApiProblemException problem => problem.Problem,
            InvalidStateIdException invalid => ApiProblems.InvalidId(invalid),
            StateValidationException invalid => ApiProblems.InvalidField(invalid.Field, invalid.Message),
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => ApiProblems.TooLarge(options.Value.MaxRequestBodyBytes),
            BadHttpRequestException bad => ApiProblems.Problem(bad.StatusCode, "Bad request", bad.Message),
            StatePersistenceException failed => StorageFailed(failed),
            ObjectDisposedException => ApiProblems.Problem(StatusCodes.Status503ServiceUnavailable, "Shutting down",
                "The server is shutting down; the request was not carried out."),
            _ => null,
        };
        if (result is null)
        {
            return false;
        }

        await result.ExecuteAsync(httpContext).ConfigureAwait(false);
        return true;
    }

    private IResult StorageFailed(StatePersistenceException error)
    {
        // The core has logged the save failure with its path and cause; this line ties it to the request.
        LogStorageFailed(logger, error.GetType().Name, error.Path);
        int status = error.IsTransient ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status500InternalServerError;
        return ApiProblems.Problem(status, "Storage failed",
            "The state could not be read or saved durably; nothing of this request was stored. " + error.Message);
    }

    [LoggerMessage(1, LogLevel.Warning, "A request failed in storage ({ErrorType}) at {Path}")]
    private static partial void LogStorageFailed(ILogger logger, string errorType, string? path);
}
