using System.Net;
using StatePersistence.Server.Configuration;
using StatePersistence.Server.Tests.Support;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Dashboard;

/// <summary>
/// The dashboard's cookie is a login that the server refuses once <c>DashboardLoginLifetime</c> has passed and after
/// <b>Log out</b>; before 2026-12-08 it was a fixed HMAC of the key, good until the key changed, whatever the browser did.
/// The clock is the factory's fake one, so the lifetime passes without waiting.
/// </summary>
public sealed class DashboardLoginLifetimeTests
{
    private const string Key = "k3y-Secret-Value-42-0123456789abcdef";

    [Fact]
    public async Task ACookie_IsRefusedOnceItsLifetimeHasPassed_AndTheDashboardAsksForTheKeyAgain()
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key), ("StatePersistence:Server:DashboardLoginLifetime", "01:00:00"));
        using HttpClient client = Client(server);
        string cookie = await LoginAsync(client);

        server.Time.Advance(TimeSpan.FromMinutes(59));
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(client, HttpMethod.Get, "/api/tasks", cookie)).StatusCode);

        server.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(client, HttpMethod.Get, "/api/tasks", cookie)).StatusCode);
        HttpResponseMessage page = await SendAsync(client, HttpMethod.Get, "/dashboard", cookie);
        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.Equal("/login", page.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task LogOut_RevokesTheCookie_ACopyKeptElsewhereIsRefused_WhileAnotherLoginStillWorks()
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key));
        using HttpClient client = Client(server);
        string loggedOut = await LoginAsync(client);
        string other = await LoginAsync(client);
        Assert.NotEqual(loggedOut, other); // each login is its own token, so one logout does not end them all

        using var logout = new HttpRequestMessage(HttpMethod.Post, "/logout");
        logout.Headers.Add("Cookie", loggedOut);
        logout.Headers.Add("Origin", "http://localhost");
        Assert.Equal(HttpStatusCode.Redirect, (await client.SendAsync(logout, Ct)).StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(client, HttpMethod.Get, "/api/tasks", loggedOut)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(client, HttpMethod.Get, "/api/tasks", other)).StatusCode);
    }

    [Fact]
    public async Task AnEventStreamOpenedWithTheCookie_EndsAtLogOut_AndItsReconnectIsRefused()
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key));
        using HttpClient client = Client(server);
        string cookie = await LoginAsync(client);
        using HttpClient streamClient = Client(server);
        streamClient.DefaultRequestHeaders.Add("Cookie", cookie);
        await using SseReader stream = await SseReader.OpenAsync(streamClient);

        using var logout = new HttpRequestMessage(HttpMethod.Post, "/logout");
        logout.Headers.Add("Cookie", cookie);
        logout.Headers.Add("Origin", "http://localhost");
        Assert.Equal(HttpStatusCode.Redirect, (await client.SendAsync(logout, Ct)).StatusCode);

        await stream.ReadToEndAsync(); // ends, rather than running on for whoever holds a copy of the cookie
        Assert.Equal(HttpStatusCode.Unauthorized, (await streamClient.GetUrlAsync("/api/events")).StatusCode);
    }

    [Fact]
    public async Task AnEventStreamOpenedWithTheCookie_EndsWhenTheLoginExpires()
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key), ("StatePersistence:Server:DashboardLoginLifetime", "01:00:00"));
        using HttpClient client = Client(server);
        string cookie = await LoginAsync(client);
        client.DefaultRequestHeaders.Add("Cookie", cookie);
        await using SseReader stream = await SseReader.OpenAsync(client);

        server.Time.Advance(TimeSpan.FromHours(1));

        await stream.ReadToEndAsync();
    }

    [Fact]
    public async Task ACookie_WorksOnAnotherInstanceWithTheSameKey_AndNotOnOneWithAnotherKey()
    {
        await using var issuer = new StateServerFactory(("STATE_API_KEY", Key));
        await using var sameKey = new StateServerFactory(("STATE_API_KEY", Key));
        await using var otherKey = new StateServerFactory(("STATE_API_KEY", "another-" + Key));
        using HttpClient client = Client(issuer);
        string cookie = await LoginAsync(client);

        using HttpClient sameKeyClient = Client(sameKey);
        using HttpClient otherKeyClient = Client(otherKey);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(sameKeyClient, HttpMethod.Get, "/api/tasks", cookie)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(otherKeyClient, HttpMethod.Get, "/api/tasks", cookie)).StatusCode);
    }

    [Fact]
    public async Task ACookieWithItsTimeChanged_IsRefused()
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key));
        using HttpClient client = Client(server);
        string cookie = await LoginAsync(client);
        string[] parts = cookie.Split('=', 2)[1].Split('.');
        Assert.Equal(4, parts.Length);
        parts[1] = (long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) + 3600).ToString(System.Globalization.CultureInfo.InvariantCulture);

        Assert.Equal(HttpStatusCode.Unauthorized,
            (await SendAsync(client, HttpMethod.Get, "/api/tasks", "statepersistence_dashboard=" + string.Join('.', parts))).StatusCode);
    }

    [Theory]
    [InlineData("00:00:59")]
    [InlineData("30.00:00:01")]
    public void ALifetimeOutOfRange_StopsTheStartNamingIt(string lifetime)
    {
        IConfiguration settings = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StatePersistence:Server:DashboardLoginLifetime"] = lifetime,
        }).Build();

        string problem = Assert.Single(StartupChecks.Settings(settings));

        Assert.StartsWith("StatePersistence:Server:DashboardLoginLifetime must be from 00:01:00 to 30.00:00:00", problem, StringComparison.Ordinal);
    }

    // Without a cookie jar: each request carries only the cookie the test gives it.
    private static HttpClient Client(StateServerFactory server) =>
        server.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false });

    private static async Task<string> LoginAsync(HttpClient client)
    {
        HttpResponseMessage login = await client.PostAsync("/login", new FormUrlEncodedContent([new("key", Key)]), Ct);
        Assert.Equal(HttpStatusCode.SeeOther, login.StatusCode);
        return Assert.Single(login.Headers.GetValues("Set-Cookie")).Split(';')[0];
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string url, string cookie)
    {
        using var request = new HttpRequestMessage(method, url);
        request.Headers.Add("Cookie", cookie);
        return await client.SendAsync(request, Ct);
    }
}
