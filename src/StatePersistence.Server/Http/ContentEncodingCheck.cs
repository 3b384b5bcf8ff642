using Microsoft.Net.Http.Headers;
using StatePersistence.Server.Problems;

namespace StatePersistence.Server.Http;

/// <summary>
/// Refuses a request body with a <c>Content-Encoding</c> (RFC 9110 section 8.4) with 415 and <c>Accept-Encoding:
/// identity</c>, as section 15.5.16 asks. The server decodes none, and read the header not at all: a body sent
/// <c>Content-Encoding: gzip</c> was taken as it came, so a compressed JSON body got "not valid UTF-8" and a session
/// log line whose coding happened to leave valid UTF-8 (<c>br</c>, <c>zstd</c> of short text, a coding a proxy
/// announced) was appended as the client never meant it.
/// </summary>
internal static class ContentEncodingCheck
{
    public static void RequireIdentity(HttpRequest request)
    {
        string encoding = request.Headers.ContentEncoding.ToString();
        if (encoding.Length == 0
            || encoding.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .All(coding => coding.Equals("identity", StringComparison.OrdinalIgnoreCase)))
        {
            return;
        }

        string shown = encoding.Length > 40 ? encoding[..40] + "…" : encoding;
        string detail = $"The request body is sent with Content-Encoding '{shown}'; this server reads bodies as sent, " +
            "without a content coding: send it uncompressed.";
        IResult problem = ApiProblems.Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported content coding", detail,
            field: HeaderNames.ContentEncoding);
        throw new ApiProblemException(new ProblemWithHeader(problem, HeaderNames.AcceptEncoding, "identity"), detail);
    }
}
