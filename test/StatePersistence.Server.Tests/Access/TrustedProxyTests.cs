using System.Net;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Access;

/// <summary>
/// <c>StatePersistence:Server:TrustedProxies</c> on the real server process: 127.0.0.2 is the configured TLS proxy,
/// 127.0.0.3 a client that sends the same forwarded headers itself.
/// </summary>
public sealed class TrustedProxyTests
{
    private const string Key = "k3y-Secret-Value-42-0123456789abcdef";
    private const string Proxy = "127.0.0.2";
    private const string Other = "127.0.0.3";

    [Fact]
    public async Task ATrustedProxySayingHttps_GetsASecureCookie_AndTheDashboardsHttpsOriginIsItsOwn_WhileTheSameHeadersFromAnotherAddressAreIgnored()
    {
        using var state = new TempDirectory();
        int port = ServerProcess.FreePort();
        await using ServerProcess server = await StartAsync(state, port, ["--StatePersistence:Server:TrustedProxies:0", Proxy]);
        using HttpClient proxy = LocalAddressClient.Create(Proxy, port);
        using HttpClient other = LocalAddressClient.Create(Other, port);

        // A browser behind the TLS proxy posts the form with its https Origin; the proxy adds the forwarded headers.
        using HttpResponseMessage viaProxy = await LoginAsync(proxy, Key, forwarded: true, origin: "https://state.example");
        using HttpResponseMessage spoofed = await LoginAsync(other, Key, forwarded: true, origin: null);
        using HttpResponseMessage spoofedFromPage = await LoginAsync(other, Key, forwarded: true, origin: "https://state.example");

        Assert.Equal(HttpStatusCode.SeeOther, viaProxy.StatusCode);
        Assert.Contains("; secure", Assert.Single(viaProxy.Headers.GetValues("Set-Cookie")), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.SeeOther, spoofed.StatusCode);
        Assert.DoesNotContain("secure", Assert.Single(spoofed.Headers.GetValues("Set-Cookie")), StringComparison.OrdinalIgnoreCase);
        // Not from the proxy, the request is plain HTTP, so an https Origin is another site's.
        Assert.Equal(HttpStatusCode.Forbidden, spoofedFromPage.StatusCode);
    }

    [Fact]
    public async Task WithoutTrustedProxies_ForwardedHeadersAreIgnored_EvenWithTheFrameworksSwitchOn()
    {
        using var state = new TempDirectory();
        int port = ServerProcess.FreePort();
        await using ServerProcess server = await StartAsync(state, port, [], new() { ["ASPNETCORE_FORWARDEDHEADERS_ENABLED"] = "true" });
        using HttpClient client = LocalAddressClient.Create(Proxy, port);

        using HttpResponseMessage login = await LoginAsync(client, Key, forwarded: true, origin: null);

        Assert.Equal(HttpStatusCode.SeeOther, login.StatusCode);
        Assert.DoesNotContain("secure", Assert.Single(login.Headers.GetValues("Set-Cookie")), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task TheClientATrustedProxyNames_IsTheLoginLimitsAddress_NotTheProxys()
    {
        using var state = new TempDirectory();
        int port = ServerProcess.FreePort();
        await using ServerProcess server = await StartAsync(state, port, ["--StatePersistence:Server:TrustedProxies:0", "127.0.0.0/29"]);
        using HttpClient proxy = LocalAddressClient.Create(Proxy, port);

        for (int i = 0; i < 10; i++)
        {
            // A client putting an address in front of its own is not believed: the proxy appended the real one.
            Assert.Equal(HttpStatusCode.Unauthorized, (await LoginAsync(proxy, $"wrong-key-{i}-0123456789abcdef0123", forwarded: true, origin: null,
                forwardedFor: $"203.0.113.{i + 1}, 198.51.100.7")).StatusCode);
        }

        using HttpResponseMessage blocked = await LoginAsync(proxy, Key, forwarded: true, origin: null, forwardedFor: "198.51.100.7");
        using HttpResponseMessage another = await LoginAsync(proxy, Key, forwarded: true, origin: null, forwardedFor: "198.51.100.8");

        Assert.Equal(HttpStatusCode.TooManyRequests, blocked.StatusCode);
        Assert.Equal(HttpStatusCode.SeeOther, another.StatusCode);
        // state.example is not in AllowedHosts (with a key it is *): its wrong keys are counted apart (LoginRebindingTests).
        Assert.Contains("Login attempts from 198.51.100.7 under a Host not in AllowedHosts are refused", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TrustedProxiesWithoutAnApiKey_StartsOnLoopback_WarningThatWhoeverReachesAProxyReachesEveryRoute()
    {
        using var state = new TempDirectory();
        await using ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(),
            ["--state-path", state.Combine("state"), "--StatePersistence:Server:TrustedProxies:0", Proxy, "--StatePersistence:Server:TrustedProxies:1", "10.0.0.0/24"]);

        // Read once the process has exited: the warning comes once the server has started, which /health may precede.
        Assert.Equal(0, await server.TerminateAsync());
        Assert.Contains($"TrustedProxies names reverse proxies ({Proxy}, 10.0.0.0/24) but no API key is configured", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TrustedProxiesWithAnApiKey_StartWithoutTheWarning()
    {
        using var state = new TempDirectory();
        await using ServerProcess server = await StartAsync(state, ServerProcess.FreePort(), ["--StatePersistence:Server:TrustedProxies:0", Proxy]);

        Assert.Equal(0, await server.TerminateAsync());
        Assert.DoesNotContain("no API key is configured", server.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("proxy.example")]
    [InlineData("10.0.0.1/8")]
    [InlineData("10.0.0.0/33")]
    public async Task AnEntryThatIsNoAddressOrNetwork_StopsTheStart_NamingTheSettingAndTheValue(string entry)
    {
        using var state = new TempDirectory();
        await using ServerProcess server = ServerProcess.Launch(ServerProcess.FreePort(),
            ["--state-path", state.Combine("state"), "--StatePersistence:Server:TrustedProxies:0", "10.0.0.5", "--StatePersistence:Server:TrustedProxies:1", entry]);

        Assert.Equal(2, await server.WaitForExitAsync());
        Assert.Contains($"StatePersistence:Server:TrustedProxies holds '{entry}', which is neither an IP address", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("'10.0.0.5'", server.Output, StringComparison.Ordinal);
    }

    private static Task<ServerProcess> StartAsync(TempDirectory state, int port, string[] arguments, Dictionary<string, string>? environment = null)
    {
        environment ??= [];
        environment["STATE_API_KEY"] = Key;
        return ServerProcess.StartAsync(port, ["--state-path", state.Combine("state"), .. arguments], environment);
    }

    private static Task<HttpResponseMessage> LoginAsync(HttpClient client, string key, bool forwarded, string? origin, string forwardedFor = "198.51.100.7")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/login") { Content = new FormUrlEncodedContent([new("key", key)]) };
        request.Headers.Host = "state.example";
        if (forwarded)
        {
            request.Headers.Add("X-Forwarded-Proto", "https");
            request.Headers.Add("X-Forwarded-For", forwardedFor);
        }

        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        return client.SendAsync(request, Ct);
    }
}
