using System.Net;
using System.Net.Http.Headers;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Retention;

/// <summary>
/// The retention policy in the running server, configured by its settings: the background pass, driven by the fake
/// clock, rotates a session log pushed past the cap and expires a report past its age; the log still reads whole (with
/// <c>Range</c>), the work shows in <c>/api/events</c> and <c>/metrics</c>.
/// </summary>
public sealed class RetentionPolicyTests : IAsyncDisposable
{
    private readonly StateServerFactory _server = new(
        ("StatePersistence:Retention:SessionLogMaxBytes", "100"),
        ("StatePersistence:Retention:SessionLogRotatedParts", "1"),
        ("StatePersistence:Retention:ReportMaxAge", "1.00:00:00"),
        ("StatePersistence:Retention:Interval", "00:10:00"));

    private readonly HttpClient _client;

    public RetentionPolicyTests() => _client = _server.Client();

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task TheBackgroundPass_RotatesALogPastTheCap_AndExpiresAnOldReport_VisibleInEventsAndMetrics()
    {
        await using SseReader events = await SseReader.OpenAsync(_client);
        await (await _client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"i","status":"active"}""")).ExpectAsync(HttpStatusCode.Created);
        await (await _client.PostJsonAsync("/api/reports", """{"id":"r1","type":"summary","data":{}}""")).ExpectAsync(HttpStatusCode.Created);
        string text = "";
        for (int i = 0; i < 5; i++)
        {
            string line = $"step {i} done\n";
            Assert.Equal(HttpStatusCode.NoContent, (await _client.PostAsync("/api/sessions/s1/log", Text(line), Ct)).StatusCode);
            text += line;
        }

        // A day and a pass later: the report (stamped at the start) is past its age, the log (5 × 32 bytes) past the cap.
        _server.Time.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(10));
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        while (!seen.ContainsKey("retention:session-log-rotated") || !seen.ContainsKey("retention:report-expired"))
        {
            SseReader.Event next = (await events.ReadAsync(1))[0];
            seen[next.Type] = next.Data;
        }

        Assert.Contains("\"id\":\"s1\"", seen["retention:session-log-rotated"], StringComparison.Ordinal);
        Assert.Contains("\"id\":\"r1\"", seen["retention:report-expired"], StringComparison.Ordinal);
        Assert.True(File.Exists(_server.File("logs", "session_s1.log.1")));
        Assert.False(File.Exists(_server.File("reports", "report_r1.json")));
        await (await _client.GetUrlAsync("/api/reports/r1")).ExpectProblemAsync(HttpStatusCode.NotFound);

        // The log reads whole, the rotated part first, and appends go on after it.
        Assert.Equal(HttpStatusCode.NoContent, (await _client.PostAsync("/api/sessions/s1/log", Text("after\n"), Ct)).StatusCode);
        Assert.Equal(text + "after\n", await (await _client.GetUrlAsync("/api/sessions/s1/log")).TextAsync());
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/sessions/s1/log");
        request.Headers.Range = new RangeHeaderValue(text.Length, text.Length + 4);
        HttpResponseMessage part = await _client.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal("after", await part.TextAsync());

        string metrics = await (await _client.GetUrlAsync("/metrics")).TextAsync();
        Assert.Contains("statepersistence_retention_session_logs_rotated_total{mode=\"rotated\"} 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("statepersistence_retention_reports_expired_total{} 1\n", metrics, StringComparison.Ordinal);
        Assert.Matches("statepersistence_retention_freed_bytes_total\\{kind=\"report\"\\} [1-9][0-9]*\n", metrics);
    }
}
