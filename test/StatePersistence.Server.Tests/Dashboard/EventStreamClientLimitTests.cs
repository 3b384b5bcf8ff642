using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using StatePersistence.Server.Configuration;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Dashboard;

/// <summary>
/// Event streams are held open, so without a limit of their own they could take every one of
/// <c>MaxConcurrentConnections</c> (the security audit: 256 open streams on the real server, and every API request and
/// <c>/health</c> was refused). Past <c>MaxEventStreamClients</c> a stream is refused with 503, logged and counted,
/// and a slot is free again when a stream ends.
/// </summary>
public sealed class EventStreamClientLimitTests
{
    [Fact]
    public async Task StreamsPastTheLimit_Are503_LoggedAndCounted_AndASlotFreesWhenAStreamEnds()
    {
        await using var server = new StateServerFactory(("StatePersistence:Server:MaxEventStreamClients", "2"));
        using HttpClient client = server.Client();
        SseReader first = await SseReader.OpenAsync(client);
        await using SseReader second = await SseReader.OpenAsync(client);

        using (HttpResponseMessage refused = await client.GetAsync("/api/events", HttpCompletionOption.ResponseHeadersRead, Ct))
        {
            JsonElementAssert(await refused.ExpectProblemAsync(HttpStatusCode.ServiceUnavailable));
            Assert.Equal(TimeSpan.FromSeconds(5), refused.Headers.RetryAfter?.Delta);
        }

        (string _, LogLevel level, string text) = Assert.Single(server.Logs.Entries, e => e.Text.StartsWith("An event stream client was refused", StringComparison.Ordinal));
        Assert.Equal(LogLevel.Warning, level);
        Assert.Contains("MaxEventStreamClients", text, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^statepersistence_event_stream_clients_refused_total(\{\})? 1$", await (await client.GetUrlAsync("/metrics")).TextAsync());

        // The API still answers while the streams are open.
        Assert.Equal(HttpStatusCode.OK, (await client.GetUrlAsync("/api/tasks")).StatusCode);

        // A stream that ends gives its slot back (bounded poll: the server sees the end a moment after the client).
        await first.DisposeAsync();
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        bounded.CancelAfter(TimeSpan.FromSeconds(30));
        while (true)
        {
            using HttpResponseMessage again = await client.GetAsync("/api/events", HttpCompletionOption.ResponseHeadersRead, bounded.Token);
            if (again.StatusCode == HttpStatusCode.OK)
            {
                break;
            }

            Assert.Equal(HttpStatusCode.ServiceUnavailable, again.StatusCode);
            await Task.Delay(50, bounded.Token);
        }
    }

    [Theory]
    [InlineData("-1", null)]
    [InlineData("256", null)]
    [InlineData("10", "10")]
    public void ALimitOutsideOneToBelowTheConnections_StopsTheStart_NamingTheSetting(string value, string? connections)
    {
        var settings = new Dictionary<string, string?> { ["StatePersistence:Server:MaxEventStreamClients"] = value };
        if (connections is not null)
        {
            settings["StatePersistence:Server:MaxConcurrentConnections"] = connections;
        }

        List<string> problems = StartupChecks.Settings(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());

        Assert.Contains("StatePersistence:Server:MaxEventStreamClients", Assert.Single(problems), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, 256, 128)]
    [InlineData("0", 10, 5)]
    [InlineData("255", 256, 255)]
    public void TheLimit_IsTheSetting_OrHalfTheConnections(string? value, long connections, long limit)
    {
        var options = new StateServerOptions { MaxConcurrentConnections = connections, MaxEventStreamClients = value is null ? 0 : int.Parse(value, System.Globalization.CultureInfo.InvariantCulture) };

        Assert.Equal(limit, options.EventStreamClientLimit);
    }

    private static void JsonElementAssert(System.Text.Json.JsonElement problem)
    {
        Assert.Contains("MaxEventStreamClients", problem.Str("detail"), StringComparison.Ordinal);
        Assert.Equal("StatePersistence:Server:MaxEventStreamClients", problem.Str("limit"));
    }
}
