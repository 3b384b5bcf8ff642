using System.Net;
using Microsoft.Extensions.Logging;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Refusals;

/// <summary>
/// Many refused requests on the server (its state directory deleted under it, so every write is a 503) give a few
/// log lines, not one Warning each, and every one of them is counted on <c>/metrics</c>.
/// </summary>
public sealed class RefusalFloodTests
{
    private const int Requests = 200;

    [Fact]
    public async Task TwoHundredRefusals_LogOneWarningWithTheCause_ThenOneSummary_AndAreAllCounted()
    {
        await using var server = new StateServerFactory(("StatePersistence:SnapshotOnShutdown", "false"));
        using HttpClient client = server.Client();
        await (await client.PostJsonAsync("/api/tasks", """{"id":"t0","description":"before"}""")).ExpectAsync(HttpStatusCode.Created);
        Directory.Delete(server.StatePath, recursive: true);

        for (int i = 1; i <= Requests; i++)
        {
            await (await client.PostJsonAsync("/api/tasks", $$"""{"id":"t{{i}}","description":"refused"}""")).ExpectProblemAsync(HttpStatusCode.ServiceUnavailable);
        }

        List<string> warnings = ServerWarnings(server);
        string first = Assert.Single(warnings);
        Assert.Contains("StateDirectoryMovedException", first, StringComparison.Ordinal);
        Assert.Contains("correlation id", first, StringComparison.Ordinal);

        server.Time.Advance(TimeSpan.FromSeconds(10));
        warnings = ServerWarnings(server);
        Assert.Equal(2, warnings.Count);
        Assert.Contains($"{Requests - 1} more requests were refused (directory_gone, 503)", warnings[1], StringComparison.Ordinal);

        string metrics = await (await client.GetUrlAsync("/metrics")).TextAsync();
        Assert.Contains($"statepersistence_requests_refused_total{{reason=\"directory_gone\",status=\"503\"}} {Requests}", metrics, StringComparison.Ordinal);
    }

    /// <summary>The server's own Warning lines (the library logs its failed saves under its own category).</summary>
    private static List<string> ServerWarnings(StateServerFactory server) =>
        [.. server.Logs.Entries.Where(e => e.Level == LogLevel.Warning && e.Category.StartsWith("StatePersistence.Server", StringComparison.Ordinal)).Select(e => e.Text)];
}
