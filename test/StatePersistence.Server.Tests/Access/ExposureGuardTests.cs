using System.Net;
using StatePersistence.Server.Configuration;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Access;

public sealed class ExposureGuardTests
{
    [Theory]
    [InlineData("http://0.0.0.0:5080")]
    [InlineData("http://*:5080")]
    [InlineData("http://+:5080")]
    [InlineData("http://[::]:5080")]
    [InlineData("http://127.0.0.1:5080;http://192.168.1.10:5080")]
    [InlineData("http://state.example:5080")]
    public async Task NonLoopbackAddressWithoutKey_RefusesToStartAndSaysWhy(string urls)
    {
        await using var server = new StateServerFactory(("urls", urls));

        string refusal = AssertRefused(server);

        Assert.Contains("no API key is configured", refusal, StringComparison.Ordinal);
        Assert.Contains("STATE_API_KEY", refusal, StringComparison.Ordinal);
        Assert.False(Directory.Exists(server.StatePath), "the state directory is not even opened");
    }

    [Fact]
    public async Task KestrelEndpointOnNonLoopbackWithoutKey_RefusesToStart()
    {
        await using var server = new StateServerFactory(("Kestrel:Endpoints:Public:Url", "http://0.0.0.0:5090"));

        Assert.Contains("http://0.0.0.0:5090", AssertRefused(server), StringComparison.Ordinal);
    }

    [Fact]
    public async Task NonLoopbackAddressWithKey_Starts()
    {
        const string key = "0123456789abcdef0123456789abcdef-key";
        await using var server = new StateServerFactory(("urls", "http://0.0.0.0:5080"), ("STATE_API_KEY", key));
        using HttpClient client = server.Client(key);

        Assert.Equal(HttpStatusCode.OK, (await client.GetUrlAsync("/api/tasks")).StatusCode);
    }

    [Theory]
    [InlineData("http://127.0.0.1:5080", true)]
    [InlineData("http://127.0.0.2:5080", true)]
    [InlineData("http://localhost:5080", true)]
    [InlineData("https://LOCALHOST:5443", true)]
    [InlineData("http://[::1]:5080", true)]
    [InlineData("http://unix:/run/state.sock", true)]
    [InlineData("http://0.0.0.0:5080", false)]
    [InlineData("http://[::]:5080", false)]
    [InlineData("http://*:5080", false)]
    [InlineData("http://+:5080", false)]
    [InlineData("http://10.0.0.5:5080", false)]
    [InlineData("http://my-host:5080", false)]
    [InlineData("not a url", false)]
    public void IsLocal_TellsLoopbackFromExposed(string url, bool local)
    {
        Assert.Equal(local, ServerAddresses.IsLocal(url));
    }

    /// <summary>
    /// The host does not start, and says why. The entry point prints the refusal as one message and exits with code 2
    /// (the end-to-end tests check that), so in process the reason is read from the same start-up checks.
    /// </summary>
    private static string AssertRefused(StateServerFactory server)
    {
        Assert.ThrowsAny<Exception>(() => server.Client());
        return string.Join("\n", StartupChecks.Settings(server.Configuration()));
    }
}
