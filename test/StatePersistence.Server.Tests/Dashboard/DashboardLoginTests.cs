using System.Net;
using Microsoft.AspNetCore.Mvc.Testing;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Dashboard;

public sealed class DashboardLoginTests
{
    private const string Key = "k3y-Secret-Value-42-0123456789abcdef";

    [Theory]
    [InlineData("/")]
    [InlineData("/dashboard")]
    public async Task Page_WithoutLogin_RedirectsToTheLoginForm(string page)
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key));
        using HttpClient client = server.Client();

        HttpResponseMessage response = await client.GetUrlAsync(page);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/login", response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task Login_WithTheKey_SetsAStrictHttpOnlyCookie_WithoutTheKey_ThatOpensTheApi()
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key));
        using HttpClient client = server.Client();

        HttpResponseMessage login = await LoginAsync(client, Key);
        string cookie = Assert.Single(login.Headers.GetValues("Set-Cookie"));

        Assert.Equal(HttpStatusCode.SeeOther, login.StatusCode);
        Assert.Equal("/dashboard", login.Headers.Location?.OriginalString);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secure", cookie, StringComparison.OrdinalIgnoreCase); // plain HTTP here: see the HTTPS test
        Assert.DoesNotContain(Key, cookie, StringComparison.Ordinal);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/tasks");
        request.Headers.Add("Cookie", cookie.Split(';')[0]);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(request, Ct)).StatusCode);
        HttpResponseMessage page = await SendWithCookieAsync(client, HttpMethod.Get, "/dashboard", cookie);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("script-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_OverHttps_MarksTheCookieSecure()
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key));
        using HttpClient client = server.CreateClient(new WebApplicationFactoryClientOptions
        {
            AllowAutoRedirect = false,
            BaseAddress = new Uri("https://localhost"),
        });

        HttpResponseMessage login = await LoginAsync(client, Key);

        Assert.Contains("secure", Assert.Single(login.Headers.GetValues("Set-Cookie")), StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("not-the-key-but-long-enough-0123456789", HttpStatusCode.Unauthorized, "not the API key of this server")]
    [InlineData("", HttpStatusCode.BadRequest, "the form field key is empty")]
    public async Task Login_WithAWrongOrMissingKey_IsRefused_AndSetsNoCookie(string key, HttpStatusCode status, string message)
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key));
        using HttpClient client = server.Client();

        HttpResponseMessage login = await LoginAsync(client, key);

        Assert.Equal(status, login.StatusCode);
        Assert.False(login.Headers.Contains("Set-Cookie"));
        Assert.Contains(message, await login.TextAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_BelowTheFreeDiskFloor_StillWorks_WhileApiWritesAre507()
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key),
            ("StatePersistence:Server:Quotas:MinFreeDiskBytes", (long.MaxValue / 2).ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("StatePersistence:HealthCheck:LowDiskSpaceBytes", long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        using HttpClient client = server.Client();

        HttpResponseMessage login = await LoginAsync(client, Key);
        string cookie = Assert.Single(login.Headers.GetValues("Set-Cookie"));
        using var write = new HttpRequestMessage(HttpMethod.Post, "/api/tasks") { Content = Json("""{"id":"task_x","description":"d"}""") };
        write.Headers.Add("Cookie", cookie.Split(';')[0]);
        write.Headers.Add("Origin", "http://localhost");

        Assert.Equal(HttpStatusCode.SeeOther, login.StatusCode);
        Assert.Equal(HttpStatusCode.InsufficientStorage, (await client.SendAsync(write, Ct)).StatusCode);
    }

    [Fact]
    public async Task Login_AsMultipart_Is415_AndSetsNoCookie()
    {
        // The form posts urlencoded; multipart would let anyone, before any key, make the server buffer uploaded
        // files (to disk past 64 KiB) on the open login route.
        await using var server = new StateServerFactory(("STATE_API_KEY", Key));
        using HttpClient client = server.Client();
        using var form = new MultipartFormDataContent
        {
            { new StringContent(Key), "key" },
            { new ByteArrayContent(new byte[200_000]), "upload", "upload.bin" },
        };

        HttpResponseMessage response = await client.PostAsync("/login", form, Ct);

        var problem = await response.ExpectProblemAsync(HttpStatusCode.UnsupportedMediaType);
        Assert.Contains("application/x-www-form-urlencoded", problem.Str("detail"), StringComparison.Ordinal);
        Assert.False(response.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task ForgedCookie_IsNotAccepted()
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key));
        using HttpClient client = server.Client();

        HttpResponseMessage response = await SendWithCookieAsync(client, HttpMethod.Get, "/api/tasks", "statepersistence_dashboard=" + Key);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("Origin", "http://evil.example")]
    [InlineData("Sec-Fetch-Site", "cross-site")]
    [InlineData("Sec-Fetch-Site", "same-site")]
    [InlineData(null, null)]
    public async Task CookieAuthenticatedWrite_NotFromTheDashboardsOwnPage_IsRefused_AndStoresNothing(string? header, string? value)
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key));
        using HttpClient client = server.Client();
        string cookie = Assert.Single((await LoginAsync(client, Key)).Headers.GetValues("Set-Cookie"));

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/tasks") { Content = Json("""{"id":"task_x","description":"d"}""") };
        request.Headers.Add("Cookie", cookie.Split(';')[0]);
        if (header is not null)
        {
            request.Headers.Add(header, value);
        }

        HttpResponseMessage response = await client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Null(await server.Persistence.LoadTaskAsync("task_x", Ct));
    }

    [Theory]
    [InlineData("Origin", "http://localhost")]
    [InlineData("Sec-Fetch-Site", "same-origin")]
    public async Task CookieAuthenticatedWrite_FromTheDashboardsOwnPage_IsAccepted(string header, string value)
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key));
        using HttpClient client = server.Client();
        string cookie = Assert.Single((await LoginAsync(client, Key)).Headers.GetValues("Set-Cookie"));

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/tasks") { Content = Json("""{"id":"task_x","description":"d"}""") };
        request.Headers.Add("Cookie", cookie.Split(';')[0]);
        request.Headers.Add(header, value);

        Assert.Equal(HttpStatusCode.Created, (await client.SendAsync(request, Ct)).StatusCode);
    }

    [Fact]
    public async Task Logout_RemovesTheCookie()
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key));
        using HttpClient client = server.Client();
        string cookie = Assert.Single((await LoginAsync(client, Key)).Headers.GetValues("Set-Cookie"));

        using var request = new HttpRequestMessage(HttpMethod.Post, "/logout");
        request.Headers.Add("Cookie", cookie.Split(';')[0]);
        request.Headers.Add("Origin", "http://localhost");
        HttpResponseMessage response = await client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Contains("expires=Thu, 01 Jan 1970", Assert.Single(response.Headers.GetValues("Set-Cookie")), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task WithoutAKey_TheDashboardIsOpen_AndLoginSendsToIt()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();

        Assert.Equal(HttpStatusCode.OK, (await client.GetUrlAsync("/")).StatusCode);
        Assert.Equal("/dashboard", (await client.GetUrlAsync("/login")).Headers.Location?.OriginalString);
    }

    private static Task<HttpResponseMessage> LoginAsync(HttpClient client, string key) =>
        client.PostAsync("/login", new FormUrlEncodedContent([new("key", key)]), Ct);

    private static async Task<HttpResponseMessage> SendWithCookieAsync(HttpClient client, HttpMethod method, string url, string cookie)
    {
        using var request = new HttpRequestMessage(method, url);
        request.Headers.Add("Cookie", cookie.Split(';')[0]);
        return await client.SendAsync(request, Ct);
    }
}
