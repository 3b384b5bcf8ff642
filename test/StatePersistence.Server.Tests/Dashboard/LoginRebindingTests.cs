using System.Net;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Dashboard;

/// <summary>
/// A page that rebinds its own DNS name to the server (with a key set, <c>AllowedHosts</c> is <c>*</c>) posts wrong keys
/// from the operator's browser, so from the operator's own address, with its name in <c>Host</c> and <c>Origin</c>
/// (same-origin, so the origin check lets it through). On the real server process: the browser's address is 127.0.0.2.
/// </summary>
public sealed class LoginRebindingTests
{
    private const string Key = "k3y-Secret-Value-42-0123456789abcdef";

    [Fact]
    public async Task WrongKeysUnderAnotherName_ThrottleThatNameOnly_TheOperatorUnderLoopbackStillLogsIn()
    {
        using var state = new TempDirectory();
        int port = ServerProcess.FreePort();
        await using ServerProcess server = await ServerProcess.StartAsync(port, ["--state-path", state.Combine("state")],
            new Dictionary<string, string> { ["STATE_API_KEY"] = Key });
        using HttpClient browser = LocalAddressClient.Create("127.0.0.2", port);

        for (int i = 0; i < 10; i++)
        {
            using HttpResponseMessage wrong = await LoginAsync(browser, $"wrong-key-number-{i}-0123456789abcdef", $"attacker.example:{port}");
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }

        // The page is throttled, and a second rebinding name shares its budget: guessing under made-up names gains nothing.
        using HttpResponseMessage eleventh = await LoginAsync(browser, "wrong-key-number-10-0123456789abcdef", $"attacker.example:{port}");
        using HttpResponseMessage otherName = await LoginAsync(browser, "wrong-key-number-11-0123456789abcdef", $"other.example:{port}");
        using HttpResponseMessage operatorLogin = await LoginAsync(browser, Key, $"127.0.0.1:{port}");

        Assert.Equal(HttpStatusCode.TooManyRequests, eleventh.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, otherName.StatusCode);
        Assert.Equal(HttpStatusCode.SeeOther, operatorLogin.StatusCode);
        Assert.Contains("statepersistence_dashboard=", Assert.Single(operatorLogin.Headers.GetValues("Set-Cookie")), StringComparison.Ordinal);
        await LoggedAsync(server, "Login attempts from 127.0.0.2 under a Host not in AllowedHosts are refused (429)");
    }

    [Fact]
    public async Task WrongKeysUnderANameAllowedHostsLists_CountForTheAddressItself()
    {
        using var state = new TempDirectory();
        int port = ServerProcess.FreePort();
        await using ServerProcess server = await ServerProcess.StartAsync(port,
            ["--state-path", state.Combine("state"), "--AllowedHosts", "state.example;localhost;127.0.0.1"],
            new Dictionary<string, string> { ["STATE_API_KEY"] = Key });
        using HttpClient browser = LocalAddressClient.Create("127.0.0.2", port);

        for (int i = 0; i < 10; i++)
        {
            using HttpResponseMessage wrong = await LoginAsync(browser, $"wrong-key-number-{i}-0123456789abcdef", $"state.example:{port}");
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }

        // The listed name is the server's own: guesses under it and under loopback share one budget.
        using HttpResponseMessage loopback = await LoginAsync(browser, Key, $"127.0.0.1:{port}");

        Assert.Equal(HttpStatusCode.TooManyRequests, loopback.StatusCode);
        await LoggedAsync(server, "Login attempts from 127.0.0.2 are refused (429)");
    }

    /// <summary>Waits for the process's output (read as it comes) to hold <paramref name="line"/>.</summary>
    private static async Task LoggedAsync(ServerProcess server, string line)
    {
        for (int i = 0; i < 200 && !server.Output.Contains(line, StringComparison.Ordinal); i++)
        {
            await Task.Delay(50, Ct);
        }

        Assert.Contains(line, server.Output, StringComparison.Ordinal);
    }

    private static async Task<HttpResponseMessage> LoginAsync(HttpClient client, string key, string host)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/login") { Content = new FormUrlEncodedContent([new("key", key)]) };
        request.Headers.Host = host;
        request.Headers.Add("Origin", "http://" + host);
        return await client.SendAsync(request, Ct);
    }
}
