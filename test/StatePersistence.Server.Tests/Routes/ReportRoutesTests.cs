using System.Net;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

public sealed class ReportRoutesTests : IAsyncDisposable
{
    private readonly StateServerFactory _server = new();
    private readonly HttpClient _client;

    public ReportRoutesTests() => _client = _server.Client();

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task PostReport_Answers201WithIdAndPath_AndTheFileHoldsIt()
    {
        HttpResponseMessage response = await _client.PostJsonAsync("/api/reports", """{"id":"r1","type":"summary","data":{"files_created":["auth.js"],"tests_passed":true}}""");

        JsonElement created = await response.ExpectAsync(HttpStatusCode.Created);
        Assert.Equal("r1", created.Str("id"));
        Assert.Equal("reports/report_r1.json", created.Str("path"));
        Assert.Equal("/api/reports/r1", response.Headers.Location?.OriginalString);
        using JsonDocument file = JsonDocument.Parse(await File.ReadAllTextAsync(_server.File("reports", "report_r1.json"), Ct));
        JsonElement stored = file.RootElement.GetProperty("$report");
        Assert.Equal("summary", stored.Str("type"));
        Assert.True(stored.GetProperty("data").GetProperty("tests_passed").GetBoolean());
    }

    [Fact]
    public async Task GetReport_ReturnsTheStoredReport()
    {
        await _client.PostJsonAsync("/api/reports", """{"id":"r1","type":"summary","data":[1,2,3]}""");

        JsonElement report = await (await _client.GetUrlAsync("/api/reports/r1")).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal("r1", report.Str("id"));
        Assert.Equal("summary", report.Str("type"));
        Assert.Equal("2024-01-01T10:00:00Z", report.Str("created_at"));
        Assert.Equal([1, 2, 3], report.GetProperty("data").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public async Task ListReports_ReturnsSortedIds()
    {
        await _client.PostJsonAsync("/api/reports", """{"id":"r2","type":"t","data":1}""");
        await _client.PostJsonAsync("/api/reports", """{"id":"r1","type":"t","data":"x"}""");
        JsonElement generated = await (await _client.PostJsonAsync("/api/reports", """{"type":"t","data":{}}""")).ExpectAsync(HttpStatusCode.Created);

        JsonElement list = await (await _client.GetUrlAsync("/api/reports")).ExpectAsync(HttpStatusCode.OK);

        string[] ids = list.EnumerateArray().Select(e => e.GetString()!).ToArray();
        Assert.Equal(new[] { "r1", "r2", generated.Str("id") }.Order(StringComparer.Ordinal), ids);
        Assert.True(File.Exists(_server.File("reports", $"report_{generated.Str("id")}.json")));
    }

    [Fact]
    public async Task GetReport_Absent_Answers404AndUnsafeId_Answers400()
    {
        await (await _client.GetUrlAsync("/api/reports/r9")).ExpectProblemAsync(HttpStatusCode.NotFound);
        await (await _client.GetUrlAsync("/api/reports/a.b")).ExpectProblemAsync(HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("""{"id":"r1","data":1}""", "type")]
    [InlineData("""{"id":"r1","type":"t"}""", "data")]
    [InlineData("""{"id":"r1","type":"t","data":null}""", "data")]
    [InlineData("""{"id":"../r1","type":"t","data":1}""", "id")]
    [InlineData("""{"id":"r1","type":"t","data":1,"extra":2}""", "extra")]
    public async Task PostReport_InvalidField_Answers400NamingTheField(string body, string field)
    {
        JsonElement problem = await (await _client.PostJsonAsync("/api/reports", body)).ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(field, problem.Str("field"));
        Assert.Empty(Directory.GetFiles(_server.File("reports")));
    }

    [Fact]
    public async Task PostReport_MalformedJson_Answers400()
    {
        await (await _client.PostJsonAsync("/api/reports", """{"type":"t","data":{""")).ExpectProblemAsync(HttpStatusCode.BadRequest);
    }
}
