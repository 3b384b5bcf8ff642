using System.Net;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Access;

/// <summary>
/// With a key, <c>AllowedHosts</c> is <c>*</c> by default, so a page that rebinds its DNS name to the server reaches it
/// under its own name through the operator's browser. What <c>MetricsWithoutKey</c> and <c>HealthDetailsWithoutKey</c>
/// open without the key is served only under a loopback name, an IP address or a name <c>AllowedHosts</c> lists; before
/// 2026-12-08 such a page read <c>/metrics</c> and <c>/health</c>'s details (paths, the database's host and name).
/// </summary>
public sealed class KeylessDetailsUnderForeignHostTests
{
    private const string Key = "k3y-Secret-Value-42-0123456789abcdef";

    [Fact]
    public async Task MetricsWithoutKey_UnderARebindingName_Is401NamingTheSettings_UnderOwnNamesIsServed()
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key), ("StatePersistence:Server:MetricsWithoutKey", "true"),
            ("AllowedHosts", "*"));
        using HttpClient client = server.Client();

        using HttpResponseMessage rebound = await GetAsync(client, "/metrics", "rebind.attacker.example:5080");
        Assert.Equal(HttpStatusCode.Unauthorized, rebound.StatusCode);
        string detail = await rebound.TextAsync();
        Assert.Contains("MetricsWithoutKey", detail, StringComparison.Ordinal);
        Assert.Contains("AllowedHosts", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("statepersistence_", detail, StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.OK, (await GetAsync(client, "/metrics", "localhost:5080")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(client, "/metrics", "192.0.2.10:5080")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(client, "/metrics", "[2001:db8::10]:5080")).StatusCode);
        using HttpClient keyed = server.Client(Key);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(keyed, "/metrics", "rebind.attacker.example:5080")).StatusCode);
    }

    [Fact]
    public async Task MetricsWithoutKey_UnderANameAllowedHostsLists_IsServed()
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key), ("StatePersistence:Server:MetricsWithoutKey", "true"),
            ("AllowedHosts", "prometheus-target.lan"));
        using HttpClient client = server.Client();

        Assert.Equal(HttpStatusCode.OK, (await GetAsync(client, "/metrics", "prometheus-target.lan:5080")).StatusCode);
    }

    [Fact]
    public async Task HealthDetailsWithoutKey_UnderARebindingName_GivesTheStatusOnly()
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key), ("StatePersistence:Server:HealthDetailsWithoutKey", "true"));
        using HttpClient client = server.Client();

        using HttpResponseMessage rebound = await GetAsync(client, "/health", "rebind.attacker.example");
        string reboundBody = await rebound.TextAsync();
        Assert.Equal(HttpStatusCode.OK, rebound.StatusCode);
        Assert.DoesNotContain("checks", reboundBody, StringComparison.Ordinal);
        Assert.DoesNotContain(server.StatePath, reboundBody, StringComparison.Ordinal);

        string own = await (await GetAsync(client, "/health", "127.0.0.1:5080")).TextAsync();
        Assert.Contains("\"checks\"", own, StringComparison.Ordinal);
        using HttpClient keyed = server.Client(Key);
        Assert.Contains("\"checks\"", await (await GetAsync(keyed, "/health", "rebind.attacker.example")).TextAsync(), StringComparison.Ordinal);
    }

    private static async Task<HttpResponseMessage> GetAsync(HttpClient client, string path, string host)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Host = host;
        return await client.SendAsync(request, Ct);
    }
}
