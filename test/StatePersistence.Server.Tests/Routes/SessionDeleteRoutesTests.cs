using System.Net;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>
/// <c>DELETE /api/sessions/{id}</c> and <c>DELETE /api/sessions/{id}/log</c>. Before them a session could not be
/// deleted over HTTP at all, and the library's delete kept the log, so a new session with the same id continued the
/// old one's agent output.
/// </summary>
public sealed class SessionDeleteRoutesTests : IAsyncDisposable
{
    private readonly StateServerFactory _server = new();
    private readonly HttpClient _client;

    public SessionDeleteRoutesTests() => _client = _server.Client();

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task DeleteSession_RemovesItAndItsLog_SoANewSessionWithTheIdStartsAnEmptyLog()
    {
        await CreateWithLogAsync("s1", "secret agent output\n");
        await CreateWithLogAsync("s2", "other session\n");

        Assert.Equal(HttpStatusCode.NoContent, (await _client.DeleteUrlAsync("/api/sessions/s1")).StatusCode);

        await (await _client.GetUrlAsync("/api/sessions/s1")).ExpectProblemAsync(HttpStatusCode.NotFound);
        await (await _client.GetUrlAsync("/api/sessions/s1/log")).ExpectProblemAsync(HttpStatusCode.NotFound);
        Assert.False(File.Exists(_server.File("logs", "session_s1.log")));
        Assert.Null(await _server.Persistence.ReadSessionLogAsync("s1", Ct));

        await (await _client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"interactive","status":"active"}""")).ExpectAsync(HttpStatusCode.Created);
        Assert.Equal("", await (await _client.GetUrlAsync("/api/sessions/s1/log")).TextAsync());
        Assert.Equal("other session\n", await (await _client.GetUrlAsync("/api/sessions/s2/log")).TextAsync());
    }

    [Fact]
    public async Task DeleteSession_WithAStaleIfMatch_Is412WithTheCurrentSession_AndDeletesNothing()
    {
        string stale = (await CreateWithLogAsync("s1", "kept\n")).Headers.ETag!.ToString();
        string current = (await _client.PatchJsonAsync("/api/sessions/s1", """{"status":"paused"}""")).Headers.ETag!.ToString();

        HttpResponseMessage refused = await _client.SendAsync(WithIfMatch("/api/sessions/s1", stale), Ct);

        JsonElement problem = await refused.ExpectProblemAsync(HttpStatusCode.PreconditionFailed);
        Assert.Equal("paused", problem.GetProperty("current").Str("status"));
        Assert.Equal(current, refused.Headers.ETag?.ToString());
        Assert.Equal("kept\n", await (await _client.GetUrlAsync("/api/sessions/s1/log")).TextAsync());

        Assert.Equal(HttpStatusCode.NoContent, (await _client.SendAsync(WithIfMatch("/api/sessions/s1", current), Ct)).StatusCode);
        Assert.Null(await _server.Persistence.LoadSessionAsync("s1", Ct));
        Assert.Null(await _server.Persistence.ReadSessionLogAsync("s1", Ct));
    }

    [Fact]
    public async Task DeleteSession_ErrorCases_NameTheProblem()
    {
        JsonElement absent = await (await _client.DeleteUrlAsync("/api/sessions/s9")).ExpectProblemAsync(HttpStatusCode.NotFound);
        Assert.Contains("s9", absent.Str("detail"), StringComparison.Ordinal);
        JsonElement invalid = await (await _client.DeleteUrlAsync("/api/sessions/a.b")).ExpectProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("a.b", invalid.Str("detail"), StringComparison.Ordinal);
        await (await _client.SendAsync(WithIfMatch("/api/sessions/s9", "\"3\""), Ct)).ExpectProblemAsync(HttpStatusCode.PreconditionFailed);
    }

    [Fact]
    public async Task DeleteSession_OfAnIdWithOnlyALogLeft_Is404_AndDeletesTheLog()
    {
        // What a delete interrupted between the session and its log leaves (or a library user's log without a session).
        await _server.Persistence.AppendSessionLogAsync("s1", "left behind\n", Ct);

        await (await _client.DeleteUrlAsync("/api/sessions/s1")).ExpectProblemAsync(HttpStatusCode.NotFound);

        Assert.Null(await _server.Persistence.ReadSessionLogAsync("s1", Ct));
    }

    [Fact]
    public async Task DeleteSession_WithIfMatchStar_OnAnIdWithOnlyALogLeft_Is412_AndDeletesNothing()
    {
        await _server.Persistence.AppendSessionLogAsync("ghost", "left behind\n", Ct);

        await (await _client.SendAsync(WithIfMatch("/api/sessions/ghost", "*"), Ct)).ExpectProblemAsync(HttpStatusCode.PreconditionFailed);

        Assert.Equal("left behind\n", await _server.Persistence.ReadSessionLogAsync("ghost", Ct));
    }

    /// <summary>
    /// The session deleted but its log not (here a directory stands where the log file was): a 503 that says the
    /// session is deleted and to repeat the request, not "nothing of this request was stored" (a 500 then); repeating
    /// it deletes the log, and /health is Healthy again at once.
    /// </summary>
    [Fact]
    public async Task DeleteSession_WhoseLogCannotBeDeleted_Is503SayingTheSessionIsDeleted_AndRepeatingItFinishes()
    {
        await CreateWithLogAsync("f2", "text\n");
        string log = _server.File("logs", "session_f2.log");
        File.Delete(log);
        Directory.CreateDirectory(Path.Combine(log, "in-the-way"));

        JsonElement problem = await (await _client.DeleteUrlAsync("/api/sessions/f2")).ExpectProblemAsync(HttpStatusCode.ServiceUnavailable);

        Assert.StartsWith("The session 'f2' was deleted, but its log could not be deleted. Repeat the request: it answers 404 and deletes the log.",
            problem.Str("detail"), StringComparison.Ordinal);
        await (await _client.GetUrlAsync("/api/sessions/f2")).ExpectProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await _client.GetUrlAsync("/health")).StatusCode);

        Directory.Delete(log, recursive: true);
        await (await _client.DeleteUrlAsync("/api/sessions/f2")).ExpectProblemAsync(HttpStatusCode.NotFound);

        // Past the health cache's 2 s, well within the minute a failed save alone keeps the health Unhealthy.
        _server.Time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(HttpStatusCode.OK, (await _client.GetUrlAsync("/health")).StatusCode);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_server.File("logs"), "session_f2*"));
    }

    [Fact]
    public async Task DeleteLog_EmptiesTheLog_KeepsTheSession_AndTheNextAppendStartsANewLog()
    {
        string etag = (await CreateWithLogAsync("s1", "first run\n")).Headers.ETag!.ToString();

        Assert.Equal(HttpStatusCode.NoContent, (await _client.DeleteUrlAsync("/api/sessions/s1/log")).StatusCode);

        Assert.Equal("", await (await _client.GetUrlAsync("/api/sessions/s1/log")).TextAsync());
        HttpResponseMessage session = await _client.GetUrlAsync("/api/sessions/s1");
        await session.ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(etag, session.Headers.ETag?.ToString());
        Assert.Equal(HttpStatusCode.NoContent, (await _client.PostAsync("/api/sessions/s1/log", Text("second run\n"), Ct)).StatusCode);
        Assert.Equal("second run\n", await (await _client.GetUrlAsync("/api/sessions/s1/log")).TextAsync());
        Assert.Equal(HttpStatusCode.NoContent, (await _client.DeleteUrlAsync("/api/sessions/s1/log")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await _client.DeleteUrlAsync("/api/sessions/s1/log")).StatusCode);
    }

    [Fact]
    public async Task DeleteLog_ErrorCases_NameTheProblem()
    {
        await CreateWithLogAsync("s1", "kept\n");

        await (await _client.DeleteUrlAsync("/api/sessions/s9/log")).ExpectProblemAsync(HttpStatusCode.NotFound);
        await (await _client.DeleteUrlAsync("/api/sessions/a.b/log")).ExpectProblemAsync(HttpStatusCode.BadRequest);
        JsonElement conditional = await (await _client.SendAsync(WithIfMatch("/api/sessions/s1/log", "\"1\""), Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal("If-Match", conditional.Str("field"));
        Assert.Equal("kept\n", await (await _client.GetUrlAsync("/api/sessions/s1/log")).TextAsync());
    }

    private async Task<HttpResponseMessage> CreateWithLogAsync(string id, string text)
    {
        HttpResponseMessage created = await _client.PostJsonAsync("/api/sessions", $$"""{"id":"{{id}}","type":"interactive","status":"active"}""");
        await created.ExpectAsync(HttpStatusCode.Created);
        Assert.Equal(HttpStatusCode.NoContent, (await _client.PostAsync($"/api/sessions/{id}/log", Text(text), Ct)).StatusCode);
        return created;
    }

    private static HttpRequestMessage WithIfMatch(string url, string tag)
    {
        var request = new HttpRequestMessage(HttpMethod.Delete, url);
        request.Headers.TryAddWithoutValidation("If-Match", tag);
        return request;
    }
}
