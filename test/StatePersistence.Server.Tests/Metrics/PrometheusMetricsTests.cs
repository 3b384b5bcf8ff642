using System.Net;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Metrics;

public sealed class PrometheusMetricsTests
{
    [Fact]
    public async Task Metrics_AfterSaves_ExposesTheMeterInPrometheusText()
    {
        // The folders measured at this scrape, not at the start (DiskUsageIntervalTests): the file count below is the saves'.
        await using var server = new StateServerFactory(("StatePersistence:DiskUsageInterval", "00:00:00"));
        using HttpClient client = server.Client();
        await client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d"}""");
        await client.PostJsonAsync("/api/tasks", """{"id":"task_2","description":"d"}""");
        await client.PostAsync("/api/state/save", null, Ct);

        HttpResponseMessage response = await client.GetUrlAsync("/metrics");
        string text = await response.TextAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.ContentType()?.MediaType);
        Assert.Contains("version=0.0.4", response.ContentType()?.ToString(), StringComparison.Ordinal);
        Assert.Contains("# TYPE statepersistence_save_duration_seconds histogram\n", text, StringComparison.Ordinal);
        Assert.Contains("statepersistence_save_duration_seconds_count{kind=\"task\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("statepersistence_save_duration_seconds_bucket{kind=\"task\",le=\"+Inf\"} 2\n", text, StringComparison.Ordinal);
        // In the library's own buckets (its advice), from 0.1 ms: not OpenTelemetry's millisecond-sized defaults.
        Assert.Contains("statepersistence_save_duration_seconds_bucket{kind=\"task\",le=\"0.0001\"} ", text, StringComparison.Ordinal);
        Assert.DoesNotContain("statepersistence_save_duration_seconds_bucket{kind=\"task\",le=\"7500\"}", text, StringComparison.Ordinal);
        // OpenTelemetry's exporter writes a series without labels as "name{} value": the same series to Prometheus.
        Assert.Contains("statepersistence_load_duration_seconds_count{} 1\n", text, StringComparison.Ordinal);
        // Two saves one after the other: two journal appends of one commit each, in the group size's own buckets.
        Assert.Contains("statepersistence_commit_group_size_bucket{le=\"1\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("statepersistence_commit_group_size_bucket{le=\"256\"} 2\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("statepersistence_commit_group_size_bucket{le=\"0.0001\"}", text, StringComparison.Ordinal);
        Assert.Contains("statepersistence_commit_group_size_sum{} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("statepersistence_journal_append_duration_seconds_count{} 2\n", text, StringComparison.Ordinal);
        // A counter appears from its first increment (no save failed here), as it did with the earlier exporter.
        Assert.DoesNotContain("statepersistence_save_failures_total", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE statepersistence_quota_limit gauge\n", text, StringComparison.Ordinal);
        Assert.Contains("target_info{service_name=\"statepersistence-server\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain("otel_scope_name", text, StringComparison.Ordinal);
        Assert.Contains("statepersistence_items{kind=\"tasks\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE statepersistence_disk_usage_bytes gauge\n", text, StringComparison.Ordinal);
        Assert.Matches("statepersistence_disk_usage_bytes\\{\\} [1-9][0-9]*\n", text);
        Assert.Matches("statepersistence_files\\{kind=\"tasks\"\\} 2\n", text);
    }

    [Fact]
    public async Task Metrics_AfterTheStartUpScrub_CountItInItsOwnBuckets()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();

        // The first scrub runs in the background right after start-up; polled, bounded, never timed. The bound is 30 s
        // of real time, not a count of 100 ms polls: ten seconds was short for a start-up task on a loaded 2-core machine.
        string text = "";
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!text.Contains("statepersistence_scrub_duration_seconds_count{} 1\n", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100, Ct);
            text = await (await client.GetUrlAsync("/metrics")).TextAsync();
        }

        Assert.Contains("statepersistence_scrub_duration_seconds_count{} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("statepersistence_scrub_duration_seconds_bucket{le=\"1800\"} 1\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("statepersistence_scrub_duration_seconds_bucket{le=\"0.0001\"}", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_OfTwoServersInOneProcess_AreKeptApart()
    {
        await using var first = new StateServerFactory();
        await using var second = new StateServerFactory();
        using HttpClient a = first.Client();
        using HttpClient b = second.Client();
        await a.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d"}""");

        string textA = await (await a.GetUrlAsync("/metrics")).TextAsync();
        string textB = await (await b.GetUrlAsync("/metrics")).TextAsync();

        Assert.Contains("statepersistence_items{kind=\"tasks\"} 1\n", textA, StringComparison.Ordinal);
        Assert.Contains("statepersistence_items{kind=\"tasks\"} 0\n", textB, StringComparison.Ordinal);
        Assert.DoesNotContain("kind=\"task\"", textB, StringComparison.Ordinal);
    }
}
