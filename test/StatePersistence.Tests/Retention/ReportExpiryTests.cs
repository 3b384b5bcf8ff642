using System.Text.Json;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using StatePersistence.Diagnostics;
using StatePersistence.Events;

namespace StatePersistence.Tests.Retention;

/// <summary>
/// The retention policy's report expiry on real files: a report older than the maximum age (by its <c>created_at</c>)
/// is deleted, durably; one without a readable <c>created_at</c> is kept; a corrupt one is moved aside, never deleted.
/// </summary>
public sealed class ReportExpiryTests : IDisposable
{
    private readonly RetentionHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ReportsOlderThanTheMaxAge_AreDeleted_TheOthersKept()
    {
        using var expired = new MetricCollector<long>(_harness.Meters, StateMeter.Name, "statepersistence.retention.reports.expired");
        using var freed = new MetricCollector<long>(_harness.Meters, StateMeter.Name, "statepersistence.retention.freed");
        await using StatePersistenceService service = await _harness.OpenAsync(r => r.ReportMaxAge = TimeSpan.FromDays(7));
        Task<StateEvent> expiredEvent = FirstAsync(service.ReadEventsAsync(null, Ct), StateEventTypes.RetentionReportExpired);

        // The clock is at 2024-01-01T10:00Z: the cut-off is 2023-12-25T10:00Z.
        await service.SaveReportAsync("old", Json("""{"id":"old","created_at":"2023-12-20T10:00:00Z"}"""), Ct);
        await service.SaveReportAsync("recent", Json("""{"id":"recent","created_at":"2023-12-30T10:00:00+00:00"}"""), Ct);
        await service.SaveReportAsync("undated", Json("""{"id":"undated"}"""), Ct);
        await service.SaveReportAsync("unreadable", Json("""{"id":"unreadable","created_at":"last week"}"""), Ct);
        await service.SaveReportAsync("not-an-object", Json("[1,2,3]"), Ct);
        long oldBytes = new FileInfo(_harness.Fixture.File("reports", "report_old.json")).Length;

        await service.RunRetentionOnceAsync(Ct);

        Assert.Equal(["not-an-object", "recent", "undated", "unreadable"], await service.ListReportsAsync(Ct));
        Assert.False(File.Exists(_harness.Fixture.File("reports", "report_old.json")));
        Assert.Equal("old", (await expiredEvent).Id);
        Assert.Equal(1, Assert.Single(expired.GetMeasurementSnapshot()).Value);
        Assert.Equal(oldBytes, Assert.Single(freed.GetMeasurementSnapshot()).Value);
        Assert.Equal("report", Assert.Single(freed.GetMeasurementSnapshot()).Tags["kind"]);

        // A week later the recent one is past the age too.
        _harness.Fixture.Time.Advance(TimeSpan.FromDays(7));
        await service.RunRetentionOnceAsync(Ct);
        Assert.Equal(["not-an-object", "undated", "unreadable"], await service.ListReportsAsync(Ct));
    }

    [Fact]
    public async Task ACorruptReport_IsMovedAsideNotDeleted_CountedAsAFailure_AndThePassGoesOn()
    {
        using var failures = new MetricCollector<long>(_harness.Meters, StateMeter.Name, "statepersistence.save.failures");
        using var corruptions = new MetricCollector<long>(_harness.Meters, StateMeter.Name, "statepersistence.corruption.detected");
        await using StatePersistenceService service = await _harness.OpenAsync(r => r.ReportMaxAge = TimeSpan.FromDays(1));
        Task<StateEvent> failed = FirstAsync(service.ReadEventsAsync(null, Ct), StateEventTypes.StateSaveError);
        await service.SaveReportAsync("a-bad", Json("""{"created_at":"2023-01-01T00:00:00Z","summary":"all passed"}"""), Ct);
        await service.SaveReportAsync("b-old", Json("""{"created_at":"2023-01-01T00:00:00Z"}"""), Ct);
        string bad = _harness.Fixture.File("reports", "report_a-bad.json");
        byte[] bytes = await File.ReadAllBytesAsync(bad, Ct);
        bytes[System.Text.Encoding.UTF8.GetString(bytes).IndexOf("passed", StringComparison.Ordinal)] = (byte)'q';
        await File.WriteAllBytesAsync(bad, bytes, Ct);

        await service.RunRetentionOnceAsync(Ct);

        Assert.Empty(await service.ListReportsAsync(Ct));
        string aside = Assert.Single(Directory.GetFiles(_harness.Fixture.File("reports"), "report_a-bad.corrupt.*"));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(aside, Ct));
        Assert.Equal("retention-report", (await failed).Operation);
        Assert.Equal("retention-report", Assert.Single(failures.GetMeasurementSnapshot()).Tags["kind"]);
        Assert.Single(corruptions.GetMeasurementSnapshot());
    }

    [Fact]
    public async Task ThePass_ReadsTheReportsAPageAtATime_DeletingAsItGoes_AndJudgesEveryOne()
    {
        // More than two pages, every other report expired: a page's deletions must not move the next page.
        int count = 2 * StatePersistence.Retention.RetentionLoop.ReportPage + 10;
        await using StatePersistenceService service = await _harness.OpenAsync(r => r.ReportMaxAge = TimeSpan.FromDays(1),
            o => o.Durability = StatePersistence.Storage.Durability.Relaxed); // thousands of saves, none of them the point
        for (int i = 0; i < count; i++)
        {
            await service.SaveReportAsync($"r{i:D5}", Json(i % 2 == 0 ? """{"created_at":"2023-01-01T00:00:00Z"}""" : "{}"), Ct);
        }

        await service.RunRetentionOnceAsync(Ct);

        Assert.Equal(Enumerable.Range(0, count).Where(i => i % 2 == 1).Select(i => $"r{i:D5}"), await service.ListReportsAsync(Ct));
    }

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    private static async Task<StateEvent> FirstAsync(IAsyncEnumerable<StateEvent> events, string type)
    {
        await foreach (StateEvent item in events)
        {
            if (item.Type == type)
            {
                return item;
            }
        }

        throw new InvalidOperationException($"The event stream ended before a {type} event.");
    }
}
