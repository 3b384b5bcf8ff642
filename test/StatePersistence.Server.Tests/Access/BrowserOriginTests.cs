using System.Net;
using System.Text;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Access;

/// <summary>What a web page in the user's browser can make the server do: nothing, unless its origin is allowed.</summary>
public sealed class BrowserOriginTests
{
    private const string LongKey = "0123456789abcdef0123456789abcdef-key";

    [Fact]
    public async Task TextPlainPost_TheCorsSimpleRequest_Is415AndStoresNothing()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();

        HttpResponseMessage response = await client.PostAsync("/api/tasks",
            new StringContent("""{"id":"task_1","description":"d"}""", Encoding.UTF8, "text/plain"), Ct);

        var problem = await response.ExpectProblemAsync(HttpStatusCode.UnsupportedMediaType);
        Assert.Contains("application/json", problem.Str("detail"), StringComparison.Ordinal);
        Assert.Empty(await server.Persistence.LoadTasksAsync(Ct));
    }

    [Theory]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("multipart/form-data; boundary=x")]
    [InlineData(null)]
    [InlineData("application/json; charset=latin1")]
    public async Task JsonRoutes_RefuseOtherContentTypes_With415(string? contentType)
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        var content = new ByteArrayContent("""{"description":"d"}"""u8.ToArray());
        if (contentType is not null)
        {
            content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        await (await client.PostAsync("/api/tasks", content, Ct)).ExpectProblemAsync(HttpStatusCode.UnsupportedMediaType);
        await (await client.PostAsync("/api/reports", new StringContent("{}", Encoding.UTF8, "text/plain"), Ct))
            .ExpectProblemAsync(HttpStatusCode.UnsupportedMediaType);
        Assert.Empty(await server.Persistence.LoadTasksAsync(Ct));
    }

    [Fact]
    public async Task SessionLog_RequiresTextPlain()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        await (await client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"interactive","status":"active"}""")).ExpectAsync(HttpStatusCode.Created);

        var problem = await (await client.PostAsync("/api/sessions/s1/log", Json("\"text\""), Ct)).ExpectProblemAsync(HttpStatusCode.UnsupportedMediaType);

        Assert.Contains("text/plain", problem.Str("detail"), StringComparison.Ordinal);
        Assert.Equal("", await (await client.GetUrlAsync("/api/sessions/s1/log")).TextAsync());
    }

    [Theory]
    [InlineData("GET", "/api/tasks")]
    [InlineData("POST", "/api/tasks")]
    [InlineData("GET", "/health")]
    public async Task WithoutKey_ARebindingHost_Is400WithADetail(string method, string url)
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        using var request = new HttpRequestMessage(new HttpMethod(method), url) { Content = method == "POST" ? Json("""{"id":"task_1","description":"d"}""") : null };
        request.Headers.Host = "attacker.example:5080";

        var problem = await (await client.SendAsync(request, Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Contains("attacker.example", problem.Str("detail"), StringComparison.Ordinal);
        Assert.Empty(await server.Persistence.LoadTasksAsync(Ct));
    }

    [Theory]
    [InlineData("localhost:5080")]
    [InlineData("127.0.0.1:5080")]
    [InlineData("[::1]:5080")]
    [InlineData("LOCALHOST")]
    public async Task WithoutKey_LoopbackHosts_AreAnswered(string host)
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/tasks");
        request.Headers.Host = host;

        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(request, Ct)).StatusCode);
    }

    [Fact]
    public async Task AllowedHosts_AddsNamesToLoopback()
    {
        await using var server = new StateServerFactory(("AllowedHosts", "agent-box.lan"));
        using HttpClient client = server.Client();

        Assert.Equal(HttpStatusCode.OK, (await SendWithHostAsync(client, "agent-box.lan:5080")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendWithHostAsync(client, "127.0.0.1:5080")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await SendWithHostAsync(client, "other.lan")).StatusCode);
    }

    [Fact]
    public async Task WithKey_AnyHostIsAnswered()
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", LongKey));
        using HttpClient client = server.Client(LongKey);

        Assert.Equal(HttpStatusCode.OK, (await SendWithHostAsync(client, "state.example.com")).StatusCode);
    }

    [Theory]
    [InlineData("Origin", "https://attacker.example")]
    [InlineData("Origin", "null")]
    [InlineData("Origin", "http://localhost:3000")]
    [InlineData("Sec-Fetch-Site", "cross-site")]
    public async Task CrossSiteRequests_Are403AndStoreNothing(string header, string value)
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/tasks") { Content = Json("""{"id":"task_1","description":"d"}""") };
        request.Headers.TryAddWithoutValidation(header, value);

        var problem = await (await client.SendAsync(request, Ct)).ExpectProblemAsync(HttpStatusCode.Forbidden);

        Assert.Contains("CorsOrigins", problem.Str("detail"), StringComparison.Ordinal);
        Assert.Contains($"{header}: {value}", problem.Str("detail"), StringComparison.Ordinal); // the header that gave it away
        Assert.DoesNotContain("(none)", problem.Str("detail"), StringComparison.Ordinal);
        Assert.Empty(await server.Persistence.LoadTasksAsync(Ct));
    }

    [Fact]
    public async Task SameOriginAndNonBrowserRequests_AreAnswered()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/tasks") { Content = Json("""{"id":"task_1","description":"d"}""") };
        request.Headers.TryAddWithoutValidation("Origin", "http://localhost");
        request.Headers.TryAddWithoutValidation("Sec-Fetch-Site", "same-origin");

        await (await client.SendAsync(request, Ct)).ExpectAsync(HttpStatusCode.Created);
    }

    [Fact]
    public async Task BrowserSequence_TextPlainThenRebindingThenCrossSite_AllRefused()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();

        // 1. A page posts a "simple request" (no preflight): text/plain, with its own origin, as fetch() would.
        using var simple = new HttpRequestMessage(HttpMethod.Post, "/api/tasks")
        {
            Content = new StringContent("""{"id":"task_1","description":"d"}""", Encoding.UTF8, "text/plain"),
        };
        simple.Headers.TryAddWithoutValidation("Origin", "https://attacker.example");
        simple.Headers.TryAddWithoutValidation("Sec-Fetch-Site", "cross-site");
        Assert.Equal(HttpStatusCode.Forbidden, (await client.SendAsync(simple, Ct)).StatusCode);

        // 2. After rebinding attacker.example to 127.0.0.1 the page is "same-origin", but its Host gives it away.
        using var rebound = new HttpRequestMessage(HttpMethod.Get, "/api/state");
        rebound.Headers.Host = "attacker.example:5080";
        rebound.Headers.TryAddWithoutValidation("Sec-Fetch-Site", "same-origin");
        Assert.Equal(HttpStatusCode.BadRequest, (await client.SendAsync(rebound, Ct)).StatusCode);

        // 3. The same text/plain body without browser headers (curl) is still not JSON to the server.
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await client.PostAsync("/api/tasks",
            new StringContent("""{"id":"task_1","description":"d"}""", Encoding.UTF8, "text/plain"), Ct)).StatusCode);
        Assert.Empty(await server.Persistence.LoadTasksAsync(Ct));
    }

    [Fact]
    public async Task ConfiguredOrigin_GetsCorsPreflightAndIsAnswered()
    {
        const string origin = "https://dashboard.example";
        await using var server = new StateServerFactory(("StatePersistence:Server:CorsOrigins:0", origin));
        using HttpClient client = server.Client();
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/api/tasks");
        preflight.Headers.TryAddWithoutValidation("Origin", origin);
        preflight.Headers.TryAddWithoutValidation("Access-Control-Request-Method", "POST");
        preflight.Headers.TryAddWithoutValidation("Access-Control-Request-Headers", "content-type");
        using var post = new HttpRequestMessage(HttpMethod.Post, "/api/tasks") { Content = Json("""{"id":"task_1","description":"d"}""") };
        post.Headers.TryAddWithoutValidation("Origin", origin);
        post.Headers.TryAddWithoutValidation("Sec-Fetch-Site", "cross-site");

        HttpResponseMessage answer = await client.SendAsync(preflight, Ct);
        HttpResponseMessage created = await client.SendAsync(post, Ct);

        Assert.True(answer.IsSuccessStatusCode, answer.StatusCode.ToString());
        Assert.Equal(origin, answer.Headers.GetValues("Access-Control-Allow-Origin").Single());
        await created.ExpectAsync(HttpStatusCode.Created);
        Assert.Equal(origin, created.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }

    [Fact]
    public async Task ConfiguredOrigin_MayReadTheHeadersTheApiSends()
    {
        // A browser hides every answer header but the CORS-safelisted few from the page unless the server exposes it:
        // without this an allowed app could not read an ETag for If-Match, the next page's cursor or a Retry-After.
        const string origin = "https://dashboard.example";
        await using var server = new StateServerFactory(("StatePersistence:Server:CorsOrigins:0", origin));
        using HttpClient client = server.Client();
        using var get = new HttpRequestMessage(HttpMethod.Get, "/api/tasks");
        get.Headers.TryAddWithoutValidation("Origin", origin);

        HttpResponseMessage answer = await client.SendAsync(get, Ct);

        await answer.ExpectAsync(HttpStatusCode.OK);
        string[] exposed = answer.Headers.GetValues("Access-Control-Expose-Headers")
            .SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries)).ToArray();
        foreach (string header in new[] { "ETag", "Location", "Link", "X-Next-Cursor", "Content-Range", "Accept-Ranges",
            "Retry-After", "Allow", "WWW-Authenticate", "Accept-Patch" })
        {
            Assert.Contains(header, exposed, StringComparer.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task WithoutConfiguredOrigins_NoCorsHeadersAreSent()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();

        HttpResponseMessage response = await client.GetUrlAsync("/api/tasks");

        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
    }

    private static Task<HttpResponseMessage> SendWithHostAsync(HttpClient client, string host)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/tasks");
        request.Headers.Host = host;
        return client.SendAsync(request, Ct);
    }
}
