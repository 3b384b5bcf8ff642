using Microsoft.Extensions.Options;
using StatePersistence.Server.Configuration;
using StatePersistence.Server.Problems;
using StatePersistence.Server.Refusals;

namespace StatePersistence.Server.Http;

/// <summary>
/// Bounds how long one request body may take to arrive by <see cref="StateServerOptions.RequestBodyTimeout"/>. A body
/// holds its room in the <see cref="BodyBudget"/> while it is read, and Kestrel's minimum data rate let one declared at
/// 4 MiB and sent at 240 bytes a second hold it for about five hours: eight of them refused every other write with 503.
/// A body not whole by the deadline is refused with 408 and <c>Connection: close</c>; its request then ends, which
/// gives its room back.
/// </summary>
internal sealed partial class BodyDeadline(IOptions<StateServerOptions> options, TimeProvider time, RefusedRequests refused,
    ILogger<BodyDeadline> logger)
{
    public const string Setting = StateServerOptions.Section + ":RequestBodyTimeout";

    private readonly TimeSpan _timeout = options.Value.RequestBodyTimeout;

    /// <summary>
    /// Runs <paramref name="read"/> with a token that is cancelled when the request is aborted or the deadline passes,
    /// and turns the deadline's cancellation into the 408 that refuses the request.
    /// </summary>
    public async Task<TResult> ReadAsync<TResult>(HttpRequest request, Func<CancellationToken, Task<TResult>> read)
    {
        CancellationToken aborted = request.HttpContext.RequestAborted;
        using var deadline = new CancellationTokenSource(_timeout, time);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(aborted, deadline.Token);
        try
        {
            return await read(either.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !aborted.IsCancellationRequested)
        {
            throw Refuse(request);
        }
    }

    private ApiProblemException Refuse(HttpRequest request)
    {
        string remote = request.HttpContext.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        string declared = request.ContentLength is { } length ? $"{length} bytes" : "chunked";
        if (refused.LogWhole(RefusedRequests.BodyTimeout, StatusCodes.Status408RequestTimeout,
            $"the body of {request.Method} {request.Path} ({declared}) from {remote} did not arrive within {_timeout:c}"))
        {
            LogRefused(logger, request.Method, request.Path.ToString(), declared, remote, _timeout, Setting);
        }

        string detail = $"The request body did not arrive within {_timeout:c} ({Setting}); nothing of this request was stored. " +
            "Send the body at once after the headers, or a smaller one.";
        IResult problem = ApiProblems.Problem(StatusCodes.Status408RequestTimeout, "Request body timeout", detail,
            more: new Dictionary<string, object?> { ["limit"] = Setting, ["limit_value"] = _timeout.TotalSeconds });
        return new ApiProblemException(new ClosingConnection(problem), detail);
    }

    /// <summary>
    /// Set as the problem is written (the exception handler clears headers set before it): the rest of the body is never
    /// read, so the connection cannot carry another request (RFC 9110, 408). HTTP/1 only: HTTP/2 forbids the header and
    /// ends the stream alone.
    /// </summary>
    private sealed class ClosingConnection(IResult problem) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            if (HttpProtocol.IsHttp11(httpContext.Request.Protocol) || HttpProtocol.IsHttp10(httpContext.Request.Protocol))
            {
                httpContext.Response.Headers.Connection = "close";
            }

            return problem.ExecuteAsync(httpContext);
        }
    }

    [LoggerMessage(7122, LogLevel.Warning,
        "The body of {Method} {Path} ({Declared}) from {Remote} did not arrive within {Timeout} ({Setting}); refused with 408, its room in the body budget given back")]
    private static partial void LogRefused(ILogger logger, string method, string path, string declared, string remote, TimeSpan timeout, string setting);
}
