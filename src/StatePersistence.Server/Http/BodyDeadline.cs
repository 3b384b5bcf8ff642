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
/// gives its room back. A body Kestrel ends for arriving below the minimum rate is refused the same way.
/// </summary>
internal sealed partial class BodyDeadline(IOptions<StateServerOptions> options, TimeProvider time, RefusedRequests refused,
    ILogger<BodyDeadline> logger)
{
    public const string Setting = StateServerOptions.Section + ":RequestBodyTimeout";
    private const string MinRateSetting = StateServerOptions.Section + ":MinRequestBodyBytesPerSecond";

    private readonly TimeSpan _timeout = options.Value.RequestBodyTimeout;
    private readonly double _minRate = options.Value.MinRequestBodyBytesPerSecond;

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

    /// <summary>
    /// The 408 for a body Kestrel ended below <see cref="StateServerOptions.MinRequestBodyBytesPerSecond"/>: the same
    /// refusal as the deadline's, naming that setting.
    /// </summary>
    public ApiProblemException TooSlow(HttpRequest request)
    {
        (string remote, string declared) = Describe(request);
        if (refused.LogWhole(RefusedRequests.BodyTimeout, StatusCodes.Status408RequestTimeout,
            $"the body of {request.Method} {request.Path} ({declared}) from {remote} arrived slower than {_minRate} bytes a second"))
        {
            LogTooSlow(logger, request.Method, request.Path.ToString(), declared, remote, _minRate, MinRateSetting);
        }

        return Refusal($"The request body arrived slower than {_minRate} bytes a second ({MinRateSetting}, after a 5 s grace); " +
            "nothing of this request was stored.", MinRateSetting, _minRate);
    }

    private ApiProblemException Refuse(HttpRequest request)
    {
        (string remote, string declared) = Describe(request);
        if (refused.LogWhole(RefusedRequests.BodyTimeout, StatusCodes.Status408RequestTimeout,
            $"the body of {request.Method} {request.Path} ({declared}) from {remote} did not arrive within {_timeout:c}"))
        {
            LogRefused(logger, request.Method, request.Path.ToString(), declared, remote, _timeout, Setting);
        }

        return Refusal($"The request body did not arrive within {_timeout:c} ({Setting}); nothing of this request was stored. " +
            "Send the body at once after the headers, or a smaller one.", Setting, _timeout.TotalSeconds);
    }

    private static (string Remote, string Declared) Describe(HttpRequest request) =>
        (request.HttpContext.Connection.RemoteIpAddress?.ToString() ?? "unknown",
            request.ContentLength is { } length ? $"{length} bytes" : "chunked");

    private static ApiProblemException Refusal(string detail, string setting, double value)
    {
        IResult problem = ApiProblems.Problem(StatusCodes.Status408RequestTimeout, "Request body timeout", detail,
            more: new Dictionary<string, object?> { ["limit"] = setting, ["limit_value"] = value });
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

    [LoggerMessage(7123, LogLevel.Warning,
        "The body of {Method} {Path} ({Declared}) from {Remote} arrived slower than {Rate} bytes a second ({Setting}); refused with 408, its room in the body budget given back")]
    private static partial void LogTooSlow(ILogger logger, string method, string path, string declared, string remote, double rate, string setting);
}
