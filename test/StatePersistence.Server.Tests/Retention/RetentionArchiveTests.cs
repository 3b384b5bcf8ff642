using System.Net;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Retention;

/// <summary>
/// The retention policy's task archive in the running server: the background pass, driven by the fake clock, moves a
/// task finished longer ago than <c>TaskArchiveAfter</c> (with its session's log and its report) into an archive under
/// <c>archive/</c>; a task still running and one finished recently stay; the work shows in <c>/api/events</c> and
/// <c>/metrics</c>.
/// </summary>
public sealed class RetentionArchiveTests : IAsyncDisposable
{
    private readonly StateServerFactory _server = new(
        ("StatePersistence:Retention:TaskArchiveAfter", "7.00:00:00"),
        ("StatePersistence:Retention:TaskArchiveWithLogs", "true"),
        ("StatePersistence:Retention:Interval", "00:10:00"));

    private readonly HttpClient _client;

    public RetentionArchiveTests() => _client = _server.Client();

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task TheBackgroundPass_ArchivesATaskFinishedLongAgo_WithItsLogAndReport_AndKeepsTheOthers()
    {
        await using SseReader events = await SseReader.OpenAsync(_client);
        string finished = StateServerFactory.Start.ToString("O");
        await (await _client.PutJsonAsync("/api/tasks/old", $$"""{"id":"old","description":"d","status":"completed","completed_at":"{{finished}}"}""")).ExpectAsync(HttpStatusCode.Created);
        await (await _client.PostJsonAsync("/api/tasks", """{"id":"running","description":"d","status":"in_progress"}""")).ExpectAsync(HttpStatusCode.Created);
        await (await _client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"i","status":"active","task_id":"old"}""")).ExpectAsync(HttpStatusCode.Created);
        Assert.Equal(HttpStatusCode.NoContent, (await _client.PostAsync("/api/sessions/s1/log", Text("the old task's output\n"), Ct)).StatusCode);
        await (await _client.PostJsonAsync("/api/reports", """{"id":"old","type":"summary","data":{}}""")).ExpectAsync(HttpStatusCode.Created);

        // Six days on, a pass: nothing is old enough yet.
        _server.Time.Advance(TimeSpan.FromDays(6));
        await (await _client.PutJsonAsync("/api/tasks/recent", $$"""{"id":"recent","description":"d","status":"failed","completed_at":"{{_server.Time.GetUtcNow():O}}"}""")).ExpectAsync(HttpStatusCode.Created);

        // A day and a pass later the first task finished more than seven days ago; the one that failed a day ago stays.
        _server.Time.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(10));
        SseReader.Event archived;
        do
        {
            archived = (await events.ReadAsync(1))[0];
        }
        while (archived.Type != "retention:tasks-archived");

        string[] archives = Directory.GetFiles(_server.File("archive"), "tasks.*.tar.gz");
        Assert.Single(archives);
        Assert.Contains($"\"id\":\"{Path.GetFileName(archives[0])}\"", archived.Data, StringComparison.Ordinal);
        await (await _client.GetUrlAsync("/api/tasks/old")).ExpectProblemAsync(HttpStatusCode.NotFound);
        await (await _client.GetUrlAsync("/api/tasks/running")).ExpectAsync(HttpStatusCode.OK);
        await (await _client.GetUrlAsync("/api/tasks/recent")).ExpectAsync(HttpStatusCode.OK);
        await (await _client.GetUrlAsync("/api/reports/old")).ExpectProblemAsync(HttpStatusCode.NotFound);
        Assert.False(File.Exists(_server.File("logs", "session_s1.log")));

        string metrics = await (await _client.GetUrlAsync("/metrics")).TextAsync();
        Assert.Contains("statepersistence_retention_tasks_archived_total{} 1\n", metrics, StringComparison.Ordinal);
    }
}
