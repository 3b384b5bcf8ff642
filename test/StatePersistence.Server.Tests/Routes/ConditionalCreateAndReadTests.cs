using System.Net;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>
/// The HTTP audit's conditional-request findings: a write route that evaluates no condition refuses one rather than
/// ignoring it (a report was replaced under <c>If-None-Match: *</c>), <c>If-Match</c> compares tags, not the numbers
/// in them, and a <c>GET</c> of an item with an ETag answers <c>If-None-Match</c> with 304.
/// </summary>
public sealed class ConditionalCreateAndReadTests : ServerRouteTests
{
    [Theory]
    [InlineData("/api/reports", """{"id":"r1","type":"second","data":2}""", "If-None-Match", "*")]
    [InlineData("/api/reports", """{"id":"r1","type":"second","data":2}""", "If-Match", "\"1\"")]
    [InlineData("/api/tasks", """{"id":"t1","description":"second"}""", "If-None-Match", "*")]
    [InlineData("/api/tasks", """{"id":"t9","description":"new"}""", "If-None-Match", "*")]
    [InlineData("/api/tasks", """{"id":"t9","description":"new"}""", "If-Match", "\"999\"")]
    [InlineData("/api/sessions", """{"id":"s9","type":"i","status":"active"}""", "If-Match", "\"999\"")]
    [InlineData("/api/sessions", """{"id":"s1","type":"i","status":"second"}""", "If-None-Match", "*")]
    [InlineData("/api/sessions/s1/log", null, "If-None-Match", "*")]
    [InlineData("/api/state/save", null, "If-Match", "*")]
    public async Task AWriteRouteThatEvaluatesNoCondition_RefusesOne_NamingTheHeader_AndStoresNothing(string url, string? json, string header, string value)
    {
        await (await Client.PostJsonAsync("/api/reports", """{"id":"r1","type":"first","data":1}""")).ExpectAsync(HttpStatusCode.Created);
        await (await Client.PostJsonAsync("/api/tasks", """{"id":"t1","description":"first"}""")).ExpectAsync(HttpStatusCode.Created);
        await (await Client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"i","status":"first"}""")).ExpectAsync(HttpStatusCode.Created);
        await Client.PostAsync("/api/state/save", null, Ct);
        long revision = Server.Persistence.Revision;
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = json is null ? Text("line\n") : Json(json) };
        request.Headers.TryAddWithoutValidation(header, value);

        HttpResponseMessage refused = await Client.SendAsync(request, Ct);

        JsonElement problem = await refused.ExpectProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(header, problem.Str("field"));
        Assert.Contains(header, problem.Str("detail"), StringComparison.Ordinal);
        Assert.Equal(revision, Server.Persistence.Revision);
        Assert.Equal("first", (await Server.Persistence.LoadReportAsync("r1", Ct))!.Value.GetProperty("type").GetString());
        Assert.Equal(["r1"], await Server.Persistence.ListReportsAsync(Ct));
        Assert.Equal("first", (await Server.Persistence.LoadTaskAsync("t1", Ct))!.Description);
        Assert.Null(await Server.Persistence.LoadTaskAsync("t9", Ct));
        Assert.Null(await Server.Persistence.LoadSessionAsync("s9", Ct));
        Assert.Equal("first", (await Server.Persistence.LoadSessionAsync("s1", Ct))!.Status);
        Assert.Equal("", await (await Client.GetUrlAsync("/api/sessions/s1/log")).TextAsync());
    }

    [Theory]
    [InlineData("0")]
    [InlineData("00")]
    [InlineData("+")]
    public async Task IfMatch_WithTheRevisionSpelledAnotherWay_Is412_AndChangesNothing(string prefix)
    {
        string tag = (await Client.PostJsonAsync("/api/tasks", """{"id":"t1","description":"first"}""")).Headers.ETag!.ToString();
        string respelled = "\"" + prefix + tag.Trim('"') + "\"";
        using var request = new HttpRequestMessage(HttpMethod.Patch, "/api/tasks/t1") { Content = Json("""{"description":"second"}""") };
        request.Headers.TryAddWithoutValidation("If-Match", respelled);

        HttpResponseMessage refused = await Client.SendAsync(request, Ct);

        await refused.ExpectProblemAsync(HttpStatusCode.PreconditionFailed);
        Assert.Equal(tag, refused.Headers.ETag?.ToString());
        Assert.Equal("first", (await Server.Persistence.LoadTaskAsync("t1", Ct))!.Description);
    }

    [Theory]
    [InlineData("/api/tasks/t1")]
    [InlineData("/api/sessions/s1")]
    public async Task GetWithIfNoneMatch_Is304WhenATagMatches_Else200(string url)
    {
        await (await Client.PostJsonAsync("/api/tasks", """{"id":"t1","description":"d"}""")).ExpectAsync(HttpStatusCode.Created);
        await (await Client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"i","status":"active"}""")).ExpectAsync(HttpStatusCode.Created);
        string tag = (await Client.GetUrlAsync(url)).Headers.ETag!.ToString();

        foreach (string matching in new[] { tag, "W/" + tag, "\"x\", " + tag, "*" })
        {
            HttpResponseMessage unchanged = await GetAsync(url, matching);
            Assert.Equal(HttpStatusCode.NotModified, unchanged.StatusCode);
            Assert.Equal(tag, unchanged.Headers.ETag?.ToString());
            Assert.Equal("", await unchanged.TextAsync());
        }

        // A tag of another revision, one this server never makes, or a value it cannot read: the item, never a 400.
        foreach (string other in new[] { "\"999999\"", "\"0" + tag.Trim('"') + "\"", "\"x\"", "not a tag" })
        {
            HttpResponseMessage full = await GetAsync(url, other);
            Assert.Equal(HttpStatusCode.OK, full.StatusCode);
            Assert.Equal(tag, full.Headers.ETag?.ToString());
        }
    }

    private Task<HttpResponseMessage> GetAsync(string url, string ifNoneMatch)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.TryAddWithoutValidation("If-None-Match", ifNoneMatch);
        return Client.SendAsync(request, Ct);
    }
}
