using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Refusals;

/// <summary>Writes refused for the free-disk floor (507) are logged, as a spell, and counted: they were silent.</summary>
public sealed class DiskFloorRefusalTests
{
    [Fact]
    public async Task FiftyWritesBelowTheFloor_LogOneWarningNamingTheFloor_AndAreAllCounted()
    {
        await using var server = new StateServerFactory(("StatePersistence:Server:Quotas:MinFreeDiskBytes", (long.MaxValue / 2).ToString(CultureInfo.InvariantCulture)),
            ("StatePersistence:HealthCheck:LowDiskSpaceBytes", long.MaxValue.ToString(CultureInfo.InvariantCulture)));
        using HttpClient client = server.Client();

        for (int i = 0; i < 50; i++)
        {
            await (await client.PostJsonAsync("/api/tasks", $$"""{"id":"t{{i}}","description":"d"}""")).ExpectProblemAsync(HttpStatusCode.InsufficientStorage);
        }

        string warning = Assert.Single(server.Logs.Entries, e => e.Level == LogLevel.Warning && e.Category.StartsWith("StatePersistence.Server", StringComparison.Ordinal)).Text;
        Assert.Contains("Writes are refused (507)", warning, StringComparison.Ordinal);
        Assert.Contains("StatePersistence:Server:Quotas:MinFreeDiskBytes", warning, StringComparison.Ordinal);
        string metrics = await (await client.GetUrlAsync("/metrics")).TextAsync();
        Assert.Contains("statepersistence_requests_refused_total{reason=\"disk_floor\",status=\"507\"} 50", metrics, StringComparison.Ordinal);
    }
}
