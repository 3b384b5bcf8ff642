using System.Net;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>
/// No route takes a list in its query: a parameter given twice was joined with a comma ("A,A"), which matched nothing
/// (an empty 200) or was refused for a value the client never sent. Now it is a 400 naming the parameter.
/// </summary>
public sealed class RepeatedQueryParameterTests
{
    [Theory]
    [InlineData("/api/tasks?tool=A&tool=A", "tool")]
    [InlineData("/api/tasks?q=x&q=x", "q")]
    [InlineData("/api/tasks?status=pending&status=failed", "status")]
    [InlineData("/api/tasks?limit=1&limit=2", "limit")]
    [InlineData("/api/tasks?sort=id&SORT=-id", "sort")]
    [InlineData("/api/tasks?updatedSince=2024-01-01T10:00:00Z&updatedSince=2024-01-01T10:00:00Z", "updatedSince")]
    [InlineData("/api/tasks?next=a&next=b", "next")]
    [InlineData("/api/tasks?after=a&after=", "after")]
    [InlineData("/api/sessions?limit=1&limit=1", "limit")]
    [InlineData("/api/sessions?after=a&after=b", "after")]
    [InlineData("/api/reports?limit=5&limit=5", "limit")]
    [InlineData("/api/reports?after=a&after=b", "after")]
    [InlineData("/api/dashboard/tasks?page=1&page=2", "page")]
    [InlineData("/api/dashboard/tasks?size=10&size=10", "size")]
    [InlineData("/api/events?lastEventId=a&lastEventId=b", "lastEventId")]
    public async Task AParameterGivenTwice_Is400NamingIt(string url, string parameter)
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        await (await client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d","tool":"A"}""")).ExpectAsync(HttpStatusCode.Created);

        // Headers first: before this, the event stream answered 200 and never ended.
        using HttpResponseMessage response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        JsonElement problem = await response.ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(parameter, problem.Str("field"), ignoreCase: true);
        Assert.Contains("was given 2 times; give it once", problem.Str("detail"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task EachParameterOnce_IsAnswered()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        await (await client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d","tool":"A"}""")).ExpectAsync(HttpStatusCode.Created);

        JsonElement page = await (await client.GetUrlAsync("/api/tasks?tool=A&q=task&status=pending&limit=2")).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal(["task_1"], page.EnumerateArray().Select(t => t.Str("id")));
    }
}
