using Microsoft.Net.Http.Headers;

namespace StatePersistence.Server.Access;

/// <summary>
/// The answer headers a page of an origin in <see cref="Configuration.StateServerOptions.CorsOrigins"/> may read. A
/// browser shows a cross-origin page only the CORS-safelisted headers (Content-Type, Cache-Control, …) unless the
/// server lists the others in <c>Access-Control-Expose-Headers</c>; without them an allowed app could not send
/// <c>If-Match</c> with the <c>ETag</c>, follow a page's cursor or a <c>Location</c>, read a log by ranges, or honour
/// a <c>Retry-After</c>. Every header the API sets for its clients is here.
/// </summary>
internal static class CorsExposedHeaders
{
    public static readonly string[] All =
    [
        HeaderNames.ETag,
        HeaderNames.Location,
        HeaderNames.Link,
        Routes.TaskListRoute.NextCursorHeader,
        HeaderNames.ContentRange,
        HeaderNames.AcceptRanges,
        HeaderNames.RetryAfter,
        HeaderNames.Allow,
        HeaderNames.WWWAuthenticate,
        "Accept-Patch",
        HeaderNames.AcceptEncoding,
    ];
}
