using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Access;

public sealed class LimitsAndOpenRoutesTests
{
    private const string Key = "0123456789abcdef0123456789abcdef-key";

    [Fact]
    public async Task KestrelLimits_HaveSaneDefaults_AndFollowTheSettings()
    {
        await using var defaults = new StateServerFactory();
        await using var configured = new StateServerFactory(
            ("StatePersistence:Server:MaxConcurrentConnections", "10"),
            ("StatePersistence:Server:RequestHeadersTimeout", "00:00:03"),
            ("StatePersistence:Server:MinRequestBodyBytesPerSecond", "0"));
        defaults.Client().Dispose();
        configured.Client().Dispose();

        KestrelServerLimits standard = defaults.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits;
        KestrelServerLimits chosen = configured.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits;

        Assert.Equal(256, standard.MaxConcurrentConnections);
        Assert.Equal(TimeSpan.FromSeconds(10), standard.RequestHeadersTimeout);
        Assert.Equal(240, standard.MinRequestBodyDataRate!.BytesPerSecond);
        Assert.Equal(10, chosen.MaxConcurrentConnections);
        Assert.Equal(TimeSpan.FromSeconds(3), chosen.RequestHeadersTimeout);
        Assert.Null(chosen.MinRequestBodyDataRate);
    }

    [Fact]
    public async Task MetricsWithoutKey_OpensMetricsAlone()
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key), ("StatePersistence:Server:MetricsWithoutKey", "true"));
        using HttpClient anonymous = server.Client();

        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetUrlAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetUrlAsync("/api/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetUrlAsync("/api/tasks")).StatusCode);
    }

    [Fact]
    public async Task ByDefault_MetricsNeedTheKey()
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", Key));
        using HttpClient anonymous = server.Client();

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetUrlAsync("/metrics")).StatusCode);
    }
}
