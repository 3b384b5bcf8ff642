using System.Net;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>
/// <c>If-Match</c> on a <c>GET</c> or <c>HEAD</c> of a task or session (RFC 9110 section 13.1.1: an origin server must
/// evaluate it, whatever the method). It was ignored: a client reading only while its copy was current got another
/// version with a 200. Now a tag that is not the current one, compared strongly, is 412 with the current ETag.
/// </summary>
public sealed class IfMatchOnReadTests : ServerRouteTests
{
    private readonly Dictionary<string, string> _tags = [];

    public override async ValueTask InitializeAsync()
    {
        HttpResponseMessage task = await Client.PostJsonAsync("/api/tasks", """{"id":"t1","description":"first"}""");
        HttpResponseMessage session = await Client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"i","status":"first"}""");
        _tags["/api/tasks/t1"] = task.Headers.ETag!.ToString();
        _tags["/api/sessions/s1"] = session.Headers.ETag!.ToString();
        await (await Client.PatchJsonAsync("/api/tasks/t1", """{"description":"second"}""")).ExpectAsync(HttpStatusCode.OK);
        await (await Client.PatchJsonAsync("/api/sessions/s1", """{"status":"second"}""")).ExpectAsync(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("/api/tasks/t1", "GET")]
    [InlineData("/api/tasks/t1", "HEAD")]
    [InlineData("/api/sessions/s1", "GET")]
    [InlineData("/api/sessions/s1", "HEAD")]
    public async Task AnOldTag_Is412_WithTheCurrentETag(string url, string method)
    {
        string current = (await Client.GetUrlAsync(url)).Headers.ETag!.ToString();
        using var request = new HttpRequestMessage(new HttpMethod(method), url);
        request.Headers.TryAddWithoutValidation("If-Match", _tags[url]);

        HttpResponseMessage refused = await Client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.PreconditionFailed, refused.StatusCode);
        Assert.Equal(current, refused.Headers.ETag?.ToString());
        if (method == "GET")
        {
            JsonElement problem = await refused.ExpectProblemAsync(HttpStatusCode.PreconditionFailed);
            Assert.Equal(long.Parse(current.Trim('"'), System.Globalization.CultureInfo.InvariantCulture), problem.GetProperty("current_revision").GetInt64());
        }
    }

    [Theory]
    [InlineData("/api/tasks/t1")]
    [InlineData("/api/sessions/s1")]
    public async Task AWeakFormOfTheCurrentTag_Is412_AsOnWrites(string url)
    {
        string current = (await Client.GetUrlAsync(url)).Headers.ETag!.ToString();

        HttpResponseMessage refused = await GetWithAsync(url, "W/" + current);

        await refused.ExpectProblemAsync(HttpStatusCode.PreconditionFailed);
    }

    [Theory]
    [InlineData("/api/tasks/t1")]
    [InlineData("/api/sessions/s1")]
    public async Task TheCurrentTag_AListHoldingIt_OrStar_IsA200(string url)
    {
        string current = (await Client.GetUrlAsync(url)).Headers.ETag!.ToString();

        foreach (string value in new[] { current, _tags[url] + ", " + current, "*" })
        {
            await (await GetWithAsync(url, value)).ExpectAsync(HttpStatusCode.OK);
        }
    }

    [Theory]
    [InlineData("7")]
    [InlineData("\"7")]
    [InlineData("garbage")]
    public async Task AMalformedValue_Is400_NamingTheHeader(string value)
    {
        JsonElement problem = await (await GetWithAsync("/api/tasks/t1", value)).ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal("If-Match", problem.Str("field"));
    }

    [Fact]
    public async Task OnAMissingTask_TheAnswerStays404()
    {
        // RFC 9110 section 13.2.1: preconditions are ignored where the answer without them would not be a 2xx.
        await (await GetWithAsync("/api/tasks/nope", "\"1\"")).ExpectProblemAsync(HttpStatusCode.NotFound);
    }

    private Task<HttpResponseMessage> GetWithAsync(string url, string ifMatch)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        return Client.SendAsync(request, Ct);
    }
}
