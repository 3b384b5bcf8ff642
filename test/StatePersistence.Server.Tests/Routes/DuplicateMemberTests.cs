using System.Net;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>
/// A JSON object that names a member twice is refused (400 naming the member, nothing stored), on every route and at
/// any depth: the file store kept such an object as sent (<c>"result":{"ok":true,"ok":false}</c>) while PostgreSQL's
/// <c>jsonb</c> keeps only the last, and readers that take the first member would see another value than the server.
/// </summary>
public sealed class DuplicateMemberTests
{
    [Theory]
    [InlineData("POST", "/api/tasks", """{"id":"task_2","description":"first","description":"second"}""", "description")]
    [InlineData("PUT", "/api/tasks/task_2", """{"description":"d","custom":1,"custom":2}""", "custom")]
    [InlineData("PATCH", "/api/tasks/task_1", """{"result":{"ok":true,"ok":false}}""", "ok")]
    [InlineData("PUT", "/api/tasks/task_1", """{"description":"d","result":{"deep":[{"a":1,"a":2}]}}""", "a")]
    [InlineData("POST", "/api/tasks/task_1/logs", """{"level":"info","type":"t","message":"m","message":"n"}""", "message")]
    [InlineData("POST", "/api/sessions", """{"id":"s2","type":"i","status":"a","status":"b"}""", "status")]
    [InlineData("POST", "/api/reports", """{"id":"r1","type":"t","data":{"a":1,"a":2}}""", "a")]
    public async Task AMemberNamedTwice_Is400NamingIt_AndNothingIsStored(string method, string url, string body, string member)
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        await (await client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d"}""")).ExpectAsync(HttpStatusCode.Created);
        string before = await (await client.GetUrlAsync("/api/state")).TextAsync();

        using var request = new HttpRequestMessage(new HttpMethod(method), url) { Content = Json(body) };
        JsonElement problem = await (await client.SendAsync(request, Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Contains($"'{member}'", problem.Str("detail"), StringComparison.Ordinal);
        Assert.Contains("more than once", problem.Str("detail"), StringComparison.Ordinal);
        Assert.Equal(before, await (await client.GetUrlAsync("/api/state")).TextAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetUrlAsync("/api/reports/r1")).StatusCode);
    }

    [Fact]
    public async Task TheSameNameInDifferentObjects_IsNoDuplicate()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();

        await (await client.PutJsonAsync("/api/tasks/task_1", """{"description":"d","result":{"a":{"a":1},"b":{"a":2}}}""")).ExpectAsync(HttpStatusCode.Created);
    }
}
