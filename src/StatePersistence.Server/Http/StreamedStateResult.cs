namespace StatePersistence.Server.Http;

/// <summary>
/// <c>GET /api/state</c>'s answer: the whole state written into the response as it is read
/// (<see cref="IStatePersistence.WriteStateAsync"/>), chunked, never held whole. Built in memory first, as the other
/// answers are (<see cref="JsonBodyResult{T}"/>), a state of 100k tasks cost +1.7 GB per request and four requests at
/// once 12 GB; streamed, a request holds one chunk. A <c>HEAD</c> gets the headers and no state is read.
/// <para>A read that fails before the first chunk went out is thrown, as any failed read is (a problem answer); one that
/// fails after it is logged, counted and aborts the connection (<see cref="AbortedAnswers"/>), so that no client takes
/// the part for the whole. Before, it escaped to the framework, which logged and aborted it but counted it nowhere.</para>
/// </summary>
internal sealed partial class StreamedStateResult(IStatePersistence state) : IResult, IStatusCodeHttpResult, IContentTypeHttpResult
{
    public int? StatusCode => StatusCodes.Status200OK;

    public string ContentType => ApiResults.JsonContentType;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        HttpResponse response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = ApiResults.JsonContentType;
        if (HttpMethods.IsHead(httpContext.Request.Method))
        {
            return;
        }

        try
        {
            await state.WriteStateAsync(response.Body, httpContext.RequestAborted);
        }
        catch (Exception failed) when (AbortedAnswers.AfterHeaders(httpContext))
        {
            LogAborted(httpContext.RequestServices.GetRequiredService<ILogger<StreamedStateResult>>(), failed, httpContext.Request.Path,
                failed.GetType().Name, failed.Message, httpContext.TraceIdentifier);
            AbortedAnswers.Abort(httpContext);
        }
    }

    [LoggerMessage(7111, LogLevel.Error, "The answer to {RequestPath} was aborted after its headers were sent, so the client cannot take a truncated state for the whole: writing it failed ({ErrorType}): {Reason}; correlation id {CorrelationId}")]
    private static partial void LogAborted(ILogger logger, Exception exception, string requestPath, string errorType, string reason, string correlationId);
}
