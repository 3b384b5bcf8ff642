using System.Net;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Access;

/// <summary>
/// Every answer of the state (a task, a list, the export, the dashboard's JSON, a problem) tells caches not to store it
/// and browsers not to sniff or frame it: a cookie-authenticated answer without Cache-Control may be kept by a shared
/// proxy and handed to the next person who asks.
/// </summary>
public sealed class SecurityHeadersTests
{
    private const string Key = "0123456789abcdef0123456789abcdef-key";

    [Theory]
    [InlineData("/api/tasks/task_1", HttpStatusCode.OK)]
    [InlineData("/api/tasks", HttpStatusCode.OK)]
    [InlineData("/api/state", HttpStatusCode.OK)]
    [InlineData("/api/sessions", HttpStatusCode.OK)]
    [InlineData("/api/reports", HttpStatusCode.OK)]
    [InlineData("/api/metrics", HttpStatusCode.OK)]
    [InlineData("/api/dashboard/overview", HttpStatusCode.OK)]
    [InlineData("/api/dashboard/tasks", HttpStatusCode.OK)]
    [InlineData("/api/dashboard/recovery", HttpStatusCode.OK)]
    [InlineData("/metrics", HttpStatusCode.OK)]
    [InlineData("/api/tasks/absent", HttpStatusCode.NotFound)]
    [InlineData("/api/tasks/a.b", HttpStatusCode.BadRequest)]
    [InlineData("/no/such/route", HttpStatusCode.NotFound)]
    public async Task StateAnswers_AreNotStoredSniffedOrFramed(string url, HttpStatusCode status)
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key));
        using HttpClient client = server.Client(Key);
        await (await client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d"}""")).ExpectAsync(HttpStatusCode.Created);

        using HttpResponseMessage response = await client.GetUrlAsync(url);

        Assert.Equal(status, response.StatusCode);
        Assert.True(response.Headers.CacheControl?.NoStore, $"{url}: Cache-Control was '{response.Headers.CacheControl}'");
        AssertNotSniffedOrFramed(response, url);
    }

    [Fact]
    public async Task ARefusedRequest_WithoutTheKey_IsNotStoredSniffedOrFramedEither()
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key));
        using HttpClient anonymous = server.Client();

        using HttpResponseMessage response = await anonymous.GetUrlAsync("/api/tasks");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.True(response.Headers.CacheControl?.NoStore);
        AssertNotSniffedOrFramed(response, "/api/tasks");
    }

    [Fact]
    public async Task DashboardFiles_KeepTheirRevalidation_AndAreNotFramed()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();

        foreach (string url in new[] { "/dashboard", "/dashboard/assets/app.js" })
        {
            using HttpResponseMessage response = await client.GetUrlAsync(url);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            // Code and markup, no state: revalidated on every load (a 304) rather than never stored.
            Assert.True(response.Headers.CacheControl?.NoCache, url);
            Assert.False(response.Headers.CacheControl?.NoStore, url);
            AssertNotSniffedOrFramed(response, url);
        }
    }

    private static void AssertNotSniffedOrFramed(HttpResponseMessage response, string url)
    {
        Assert.True(response.Headers.TryGetValues("X-Content-Type-Options", out IEnumerable<string>? sniff), $"{url}: no X-Content-Type-Options");
        Assert.Equal("nosniff", Assert.Single(sniff));
        Assert.True(response.Headers.TryGetValues("X-Frame-Options", out IEnumerable<string>? frame), $"{url}: no X-Frame-Options");
        Assert.Equal("DENY", Assert.Single(frame));
    }
}
