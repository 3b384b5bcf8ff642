using System.Net;
using StatePersistence.Server.Dashboard;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Dashboard;

/// <summary>
/// Wrong keys posted to <c>/login</c> are limited per client address, on the real server process: requests leave from
/// 127.0.0.2 (the attacker) and 127.0.0.3 (the operator), which the server sees as two addresses.
/// </summary>
public sealed class LoginThrottleTests
{
    private const string Key = "k3y-Secret-Value-42-0123456789abcdef";

    [Fact]
    public async Task TheEleventhWrongKey_Gets429WithRetryAfter_EvenTheRightKeyThen_WhileAnotherAddressStillLogsIn()
    {
        using var state = new TempDirectory();
        int port = ServerProcess.FreePort();
        await using ServerProcess server = await ServerProcess.StartAsync(port, ["--state-path", state.Combine("state")],
            new Dictionary<string, string> { ["STATE_API_KEY"] = Key });
        using HttpClient attacker = LocalAddressClient.Create("127.0.0.2", port);
        using HttpClient operatorClient = LocalAddressClient.Create("127.0.0.3", port);

        for (int i = 0; i < 10; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await LoginAsync(attacker, $"wrong-key-number-{i}-0123456789abcdef")).StatusCode);
        }

        using HttpResponseMessage eleventh = await LoginAsync(attacker, "wrong-key-number-10-0123456789abcdef");
        using HttpResponseMessage rightKeyTooLate = await LoginAsync(attacker, Key);
        using HttpResponseMessage elsewhere = await LoginAsync(operatorClient, Key);

        Assert.Equal(HttpStatusCode.TooManyRequests, eleventh.StatusCode);
        Assert.InRange(eleventh.Headers.RetryAfter?.Delta?.TotalSeconds ?? 0, 1, 60);
        Assert.Contains("Too many wrong keys", await eleventh.TextAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.TooManyRequests, rightKeyTooLate.StatusCode);
        Assert.False(rightKeyTooLate.Headers.Contains("Set-Cookie"));
        Assert.Equal(HttpStatusCode.SeeOther, elsewhere.StatusCode);
        Assert.Contains("statepersistence_dashboard=", Assert.Single(elsewhere.Headers.GetValues("Set-Cookie")), StringComparison.Ordinal);

        using HttpClient metricsClient = LocalAddressClient.Create("127.0.0.3", port);
        metricsClient.DefaultRequestHeaders.Authorization = new("Bearer", Key);
        string metrics = await (await metricsClient.GetUrlAsync("/metrics")).TextAsync();
        Assert.Contains("statepersistence_requests_refused_total{reason=\"login_rate_limit\",status=\"429\"} 2", metrics, StringComparison.Ordinal);
        Assert.Contains("Login attempts from 127.0.0.2 are refused (429)", server.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2::/64")]
    [InlineData("::ffff:192.0.2.7", "192.0.2.7")]
    [InlineData("192.0.2.7", "192.0.2.7")]
    public void Addresses_ArePartitionedByHost_IPv6ByItsSlash64(string address, string partition) =>
        Assert.Equal(partition, LoginThrottle.Partition(IPAddress.Parse(address)));

    private static Task<HttpResponseMessage> LoginAsync(HttpClient client, string key) =>
        client.PostAsync("/login", new FormUrlEncodedContent([new("key", key)]), Ct);
}
