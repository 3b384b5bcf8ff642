using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Health;

/// <summary>
/// <c>/health</c> from the moment the host begins stopping (SIGTERM, Ctrl-C: <c>ApplicationStopping</c>), in process.
/// The host stops serving once its stop reaches Kestrel (the test host too), so these hold the stop in
/// <c>ShutdownDelay</c>, which waits on the fake clock: nothing ends it until the test advances the clock. The real
/// process is in <see cref="ShutdownDrainProcessTests"/>.
/// </summary>
public sealed class ShuttingDownHealthTests
{
    private const string Key = "0123456789abcdef0123456789abcdef-key";
    private static readonly (string, string?) Delay = ("StatePersistence:Server:ShutdownDelay", "00:01:00");

    [Fact]
    public async Task Health_OnceStoppingBegins_Is503ShuttingDown_EvenWithAHealthyResultCached()
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key), Delay);
        using HttpClient anonymous = server.Client();
        using HttpClient withKey = server.Client(Key);
        await (await anonymous.GetUrlAsync("/health")).ExpectAsync(HttpStatusCode.OK); // now cached for HealthCacheDuration

        server.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        JsonElement bare = await (await anonymous.GetUrlAsync("/health")).ExpectAsync(HttpStatusCode.ServiceUnavailable);
        JsonElement full = await (await withKey.GetUrlAsync("/health")).ExpectAsync(HttpStatusCode.ServiceUnavailable);

        Assert.Equal("Unhealthy", bare.Str("status"));
        Assert.True(bare.GetProperty("shutting_down").GetBoolean());
        Assert.Equal("Unhealthy", full.Str("status"));
        JsonElement serverCheck = full.GetProperty("checks").GetProperty("server");
        Assert.Equal("Unhealthy", serverCheck.Str("status"));
        Assert.Contains("shutting down", serverCheck.Str("description"), StringComparison.Ordinal);
        // The library's own check still reports the store as it is: it is not shut down until the server has drained.
        Assert.Equal("Healthy", full.GetProperty("checks").GetProperty("state_persistence").Str("status"));
        server.Time.Advance(TimeSpan.FromMinutes(1)); // let the stop go on, so that disposing the host does not wait for it
    }

    [Fact]
    public async Task Head_OnceStoppingBegins_Is503()
    {
        await using var server = new StateServerFactory(Delay);
        using HttpClient client = server.Client();
        server.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();

        using var head = new HttpRequestMessage(HttpMethod.Head, "/health");
        using HttpResponseMessage answer = await client.SendAsync(head, Ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.StatusCode);
        server.Time.Advance(TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task TheStop_WaitsOutTheDelay_ThenStopsTheHost()
    {
        await using var server = new StateServerFactory(Delay);
        using HttpClient client = server.Client();
        IHostApplicationLifetime lifetime = server.Services.GetRequiredService<IHostApplicationLifetime>();
        lifetime.StopApplication();
        await (await client.GetUrlAsync("/health")).ExpectAsync(HttpStatusCode.ServiceUnavailable);
        Assert.False(lifetime.ApplicationStopped.IsCancellationRequested);

        // The stop runs on its own thread: the delay's timer may not be set yet when the clock is first advanced, so
        // the clock is advanced again on every poll (a later advance never shortens the delay below its minute).
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!lifetime.ApplicationStopped.IsCancellationRequested)
        {
            server.Time.Advance(TimeSpan.FromMinutes(1));
            Assert.True(DateTime.UtcNow < deadline, "The host did not stop once the delay was over.");
            await Task.Delay(20, Ct);
        }

        Assert.Contains(server.Logs.Entries, e => e.Text.Contains("ShutdownDelay", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Health_BeforeStopping_SaysNothingOfShuttingDown()
    {
        await using var server = new StateServerFactory(("StatePersistence:Server:HealthDetailsWithoutKey", "true"));
        using HttpClient client = server.Client();

        JsonElement health = await (await client.GetUrlAsync("/health")).ExpectAsync(HttpStatusCode.OK);

        Assert.False(health.Has("shutting_down"));
        Assert.False(health.GetProperty("checks").Has("server"));
    }
}
