using System.Net;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Server.Tests.Dashboard;

/// <summary>
/// RFC 9110 section 9.1: the dashboard's pages, its files and the login form answer <c>HEAD</c> as they answer
/// <c>GET</c>. Without a key they were 405 (an uptime check's <c>curl -I http://host:5080/</c> said the server was
/// broken), while with a key the key check's redirect answered <c>HEAD /</c> first. (Kestrel sends no body for a
/// <c>HEAD</c>; the in-process test server does not drop it, so only the status and headers are compared here.)
/// </summary>
public sealed class DashboardHeadTests
{
    private const string Key = "k3y-Secret-Value-42-0123456789abcdef";

    [Theory]
    [InlineData("/", false)]
    [InlineData("/dashboard", false)]
    [InlineData("/dashboard/assets/app.js", false)]
    [InlineData("/dashboard/assets/nothing.js", false)]
    [InlineData("/login", false)]
    [InlineData("/", true)]
    [InlineData("/dashboard/assets/app.css", true)]
    [InlineData("/login", true)]
    public async Task Head_AnswersAsGetDoes(string url, bool withKey)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using var server = withKey ? new StateServerFactory(("STATE_API_KEY", Key)) : new StateServerFactory();
        using HttpClient client = server.Client();

        using HttpResponseMessage get = await client.GetAsync(url, ct);
        using HttpResponseMessage head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, url), ct);

        Assert.Equal(get.StatusCode, head.StatusCode);
        Assert.Equal(get.Headers.Location, head.Headers.Location);
        Assert.Equal(get.Headers.ETag, head.Headers.ETag);
        Assert.Equal(get.Content.Headers.ContentType, head.Content.Headers.ContentType);
    }

    [Fact]
    public async Task Head_OfTheLogout_IsStill405()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();

        using HttpResponseMessage head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/logout"), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, head.StatusCode);
    }
}
