using Microsoft.Net.Http.Headers;
using StatePersistence.Server.Problems;

namespace StatePersistence.Server.Http;

/// <summary>
/// The patch documents a <c>PATCH</c> route takes (RFC 5789): a JSON object of the fields to change, as
/// <c>application/json</c> or <c>application/merge-patch+json</c> (RFC 7396). JSON Patch (<c>application/json-patch+json</c>,
/// RFC 6902) is refused with 415 and <c>Accept-Patch</c>, as RFC 5789 section 2.2 asks: its <c>+json</c> suffix passed
/// the JSON routes' media type check, so an object sent under it was applied with other semantics than the client
/// declared, and a real JSON Patch (an array of operations) got "not valid JSON", which it is.
/// </summary>
internal static class PatchMediaType
{
    /// <summary>The <c>Accept-Patch</c> value: the media types a <c>PATCH</c> route reads.</summary>
    public const string Accepted = "application/json, application/merge-patch+json";

    private const string JsonPatch = "application/json-patch+json";

    /// <summary>Throws the 415 for a JSON Patch document; any other type is left to the body reader's check.</summary>
    public static void RefuseJsonPatch(HttpRequest request)
    {
        if (MediaTypeHeaderValue.TryParse(request.ContentType, out MediaTypeHeaderValue? type)
            && type.MediaType.Equals(JsonPatch, StringComparison.OrdinalIgnoreCase))
        {
            string detail = $"This route does not apply JSON Patch ({JsonPatch}, RFC 6902): send a JSON object of the fields to change, " +
                $"as {Accepted} (see Accept-Patch).";
            IResult problem = ApiProblems.Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported patch format", detail,
                field: HeaderNames.ContentType);
            throw new ApiProblemException(new ProblemWithHeader(problem, "Accept-Patch", Accepted), detail);
        }
    }
}
