using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>
/// A query parameter a route does not take is a 400 naming it. Before, ASP.NET Core ignored it: a misspelt filter
/// (<c>?stauts=completed</c>, or <c>?updated_since=</c> in the JSON's own spelling) listed every task as if no filter
/// had been sent, and <c>DELETE /api/tasks/x?dryRun=true</c> deleted.
/// </summary>
public sealed class UnknownQueryParameterTests
{
    [Theory]
    [InlineData("/api/tasks?stauts=completed", "stauts", "it takes: status, tool, updatedSince, q, sort, limit, next, after")]
    [InlineData("/api/tasks?updated_since=2030-01-01T00:00:00Z", "updated_since", "GET /api/tasks takes")]
    [InlineData("/api/tasks/task_1?fields=id", "fields", "GET /api/tasks/{id} takes: it takes none")]
    [InlineData("/api/sessions?offset=2", "offset", "it takes: after, limit")]
    [InlineData("/api/reports?page=2", "page", "it takes: after, limit")]
    [InlineData("/api/dashboard/tasks?sort=id", "sort", "it takes: status, q, page, size, offset")]
    [InlineData("/api/events?after=3", "after", "it takes: lastEventId")]
    [InlineData("/api/state?pretty=1", "pretty", "takes none")]
    public async Task AParameterTheRouteDoesNotTake_Is400NamingIt(string url, string parameter, string detail)
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        await (await client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d","tool":"A"}""")).ExpectAsync(HttpStatusCode.Created);

        // Headers first: the event stream would otherwise answer 200 and never end.
        using HttpResponseMessage response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, Ct);
        JsonElement problem = await response.ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(parameter, problem.Str("field"));
        Assert.Contains($"The query parameter '{parameter}' is not one ", problem.Str("detail"), StringComparison.Ordinal);
        Assert.Contains(detail, problem.Str("detail"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ADeleteWithAParameterItDoesNotTake_DeletesNothing()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        await (await client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d","tool":"A"}""")).ExpectAsync(HttpStatusCode.Created);

        JsonElement problem = await (await client.DeleteUrlAsync("/api/tasks/task_1?dryRun=true")).ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal("dryRun", problem.Str("field"));
        JsonElement task = await (await client.GetUrlAsync("/api/tasks/task_1")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("task_1", task.Str("id"));
    }

    [Fact]
    public async Task NamesAreComparedIgnoringCase_AsTheRoutesBindThem()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        await (await client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d","tool":"A"}""")).ExpectAsync(HttpStatusCode.Created);

        JsonElement page = await (await client.GetUrlAsync("/api/tasks?STATUS=completed&Limit=5")).ExpectAsync(HttpStatusCode.OK);

        Assert.Empty(page.EnumerateArray());
    }

    /// <summary>
    /// Every route under <c>/api</c>, each of its methods, refuses a parameter it does not take: a route added later
    /// without its <c>TakesQuery</c> declaration, or outside the group that makes "none" the default, fails here.
    /// </summary>
    [Fact]
    public async Task EveryApiRoute_RefusesAParameterItDoesNotTake()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        await (await client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d","tool":"A"}""")).ExpectAsync(HttpStatusCode.Created);
        List<(string Method, string Pattern)> routes = [.. server.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api", StringComparison.Ordinal) == true)
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? []).Select(m => (m, e.RoutePattern.RawText!)))];
        Assert.Contains(("GET", "/api/events"), routes);
        Assert.True(routes.Count >= 20, $"only {routes.Count} routes found under /api");

        var answered = new List<string>();
        foreach ((string method, string pattern) in routes)
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), pattern.Replace("{id}", "task_1", StringComparison.Ordinal) + "?zz_unknown=1");
            using HttpResponseMessage response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct);
            if (response.StatusCode != HttpStatusCode.BadRequest)
            {
                answered.Add($"{method} {pattern}: {(int)response.StatusCode}");
            }
        }

        Assert.Empty(answered);
        JsonElement task = await (await client.GetUrlAsync("/api/tasks/task_1")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("task_1", task.Str("id"));
    }
}
