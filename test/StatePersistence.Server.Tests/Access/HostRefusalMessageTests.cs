using System.Net;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Access;

/// <summary>
/// The 400 for a <c>Host</c> the server does not answer says which names it does answer, as configured: with an API key
/// and <c>AllowedHosts</c> set, the loopback names are refused too, and the answer said "without an API key only
/// localhost, 127.0.0.1 and [::1] are", to an operator who had a key and had listed the name.
/// </summary>
public sealed class HostRefusalMessageTests
{
    private const string LongKey = "0123456789abcdef0123456789abcdef-key";

    [Fact]
    public async Task WithKeyAndAllowedHosts_ALoopbackHostIsRefused_NamingTheListedNamesNotAKeylessRule()
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", LongKey), ("AllowedHosts", "state.example"));
        using HttpClient client = server.Client(LongKey);

        var problem = await (await SendWithHostAsync(client, "127.0.0.1:5080")).ExpectProblemAsync(HttpStatusCode.BadRequest);

        string detail = problem.Str("detail");
        Assert.Contains("'127.0.0.1:5080'", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("without an API key", detail, StringComparison.Ordinal);
        Assert.Contains("state.example", detail, StringComparison.Ordinal); // the names it does answer
        Assert.Contains("AllowedHosts", detail, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await SendWithHostAsync(client, "state.example")).StatusCode);
    }

    [Fact]
    public async Task WithoutKey_ARefusedHost_NamesTheLoopbackNamesAndTheListedOnes()
    {
        await using var server = new StateServerFactory(("AllowedHosts", "agent-box.lan"));
        using HttpClient client = server.Client();

        var problem = await (await SendWithHostAsync(client, "other.lan")).ExpectProblemAsync(HttpStatusCode.BadRequest);

        string detail = problem.Str("detail");
        Assert.Contains("'other.lan'", detail, StringComparison.Ordinal);
        Assert.Contains("without an API key", detail, StringComparison.Ordinal);
        Assert.Contains("localhost, 127.0.0.1, [::1]", detail, StringComparison.Ordinal);
        Assert.Contains("agent-box.lan", detail, StringComparison.Ordinal);
        Assert.Contains("DNS rebinding", detail, StringComparison.Ordinal);
    }

    private static Task<HttpResponseMessage> SendWithHostAsync(HttpClient client, string host)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/tasks");
        request.Headers.Host = host;
        return client.SendAsync(request, Ct);
    }
}
