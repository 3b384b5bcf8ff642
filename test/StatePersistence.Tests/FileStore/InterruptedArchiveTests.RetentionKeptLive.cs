using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using StatePersistence.Diagnostics;
using StatePersistence.FileStore;
using StatePersistence.FileSystem;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// What the retention pass's archive step keeps live because its live copy is not what the archive holds is logged
/// with why and counted, once per item while the process runs. Before, the pass said nothing of it (only
/// <c>statectl archive</c> named it), and an operator could not see why a log or report the archive holds was still live.
/// </summary>
public sealed partial class InterruptedArchiveTests
{
    [Fact]
    public async Task The_retention_pass_logs_and_counts_a_left_log_and_report_it_keeps_live_once()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await SeedAsync(ct);
        await InterruptAfterTheDeleteCommitAsync(ct);

        var logs = new CapturedLogs();
        using ILoggerFactory loggers = LoggerFactory.Create(builder => builder.AddProvider(logs));
        await using ServiceProvider meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
        IMeterFactory factory = meters.GetRequiredService<IMeterFactory>();
        using var keptLive = new MetricCollector<long>(factory, StateMeter.Name, "statepersistence.retention.kept_live");
        StatePersistenceOptions options = _fixture.Options(o =>
        {
            o.Retention.TaskArchiveAfter = TimeSpan.FromDays(1);
            o.Retention.TaskArchiveWithLogs = true;
            o.Retention.Interval = TimeSpan.Zero; // the test runs the passes
        });
        await using var service = new StatePersistenceService(options, new FileStateStore(options, PhysicalFileSystem.Instance, timeProvider: _fixture.Time),
            loggers, _fixture.Time, factory);
        await service.StartAsync(ct);
        await service.AppendSessionLogAsync("s1", "printed after the archive\n", ct);
        using JsonDocument other = JsonDocument.Parse("""{"task_id":"old1","result":"another report under the same id"}""");
        await service.SaveReportAsync("r1", other.RootElement, ct);

        await service.RunRetentionOnceAsync(ct);
        await service.RunRetentionOnceAsync(ct); // still kept live: named once, not at every pass

        CapturedLogs.Entry entry = Assert.Single(logs.Entries, e => e.Id == 89);
        Assert.Contains("kept live, not removed, as the live copy is not what the archive that took it holds", entry.Message, StringComparison.Ordinal);
        Assert.EndsWith(": report r1, the log of session s1", entry.Message, StringComparison.Ordinal);
        Assert.Equal([(2L, "changed")], keptLive.GetMeasurementSnapshot().Select(m => (m.Value, (string)m.Tags["reason"]!)));
        Assert.Equal("what old1 printed\nprinted after the archive\n", await service.ReadSessionLogAsync("s1", ct));
    }
}
