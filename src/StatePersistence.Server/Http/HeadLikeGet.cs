using Microsoft.AspNetCore.Routing;

namespace StatePersistence.Server.Http;

/// <summary>
/// RFC 9110 section 9.3.2: a general-purpose server answers <c>HEAD</c> wherever it answers <c>GET</c>, with the same
/// status and headers and no body. One convention on a route group makes every <c>GET</c> route in it take <c>HEAD</c>
/// too; the handler runs as for <c>GET</c> and Kestrel sends no body for a <c>HEAD</c> request.
/// </summary>
internal static class HeadLikeGet
{
    public static RouteGroupBuilder AnswerHeadLikeGet(this RouteGroupBuilder group)
    {
        // Finally: after each route's own conventions, so the methods MapGet gave are there to extend.
        ((IEndpointConventionBuilder)group).Finally(endpoint =>
        {
            if (endpoint.Metadata.OfType<HttpMethodMetadata>().LastOrDefault() is { } methods
                && methods.HttpMethods.Contains(HttpMethods.Get) && !methods.HttpMethods.Contains(HttpMethods.Head))
            {
                endpoint.Metadata.Add(new HttpMethodMetadata([.. methods.HttpMethods, HttpMethods.Head], methods.AcceptCorsPreflight));
            }
        });
        return group;
    }
}
