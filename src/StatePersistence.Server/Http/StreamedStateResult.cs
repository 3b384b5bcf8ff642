namespace StatePersistence.Server.Http;

/// <summary>
/// <c>GET /api/state</c>'s answer: the whole state written into the response as it is read
/// (<see cref="IStatePersistence.WriteStateAsync"/>), chunked, never held whole. Built in memory first, as the other
/// answers are (<see cref="JsonBodyResult{T}"/>), a state of 100k tasks cost +1.7 GB per request and four requests at
/// once 12 GB; streamed, a request holds one chunk. A <c>HEAD</c> gets the headers and no state is read.
/// </summary>
internal sealed class StreamedStateResult(IStatePersistence state) : IResult, IStatusCodeHttpResult, IContentTypeHttpResult
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

        await state.WriteStateAsync(response.Body, httpContext.RequestAborted);
    }
}
