namespace StatePersistence.Server.Http;

/// <summary>
/// An item answered with the JSON the library stored for it (<see cref="ItemReplacement.Json"/>), sent as it is with
/// its <c>Content-Length</c>: the server's JSON conventions are the core's (snake_case, nulls left out, the same
/// timestamps), so serializing the item again would write the same bytes a second time.
/// </summary>
internal sealed class StoredJsonResult(ReadOnlyMemory<byte> json, int statusCode) : IResult, IStatusCodeHttpResult, IContentTypeHttpResult
{
    public int? StatusCode => statusCode;

    public string ContentType => ApiResults.JsonContentType;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        HttpResponse response = httpContext.Response;
        response.StatusCode = statusCode;
        response.ContentType = ApiResults.JsonContentType;
        response.ContentLength = json.Length;
        return response.BodyWriter.WriteAsync(json, httpContext.RequestAborted).AsTask();
    }
}
