using System.Net;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

public sealed class SessionRoutesTests : IAsyncDisposable
{
    private readonly StateServerFactory _server = new();
    private readonly HttpClient _client;

    public SessionRoutesTests() => _client = _server.Client();

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task PostSession_Answers201WithLocationAndCreatedAt()
    {
        HttpResponseMessage response = await _client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"interactive","status":"active","task_id":"task_1"}""");

        JsonElement session = await response.ExpectAsync(HttpStatusCode.Created);
        Assert.Equal("/api/sessions/s1", response.Headers.Location?.OriginalString);
        Assert.Equal("2024-01-01T10:00:00Z", session.Str("created_at"));
        Assert.Equal("task_1", session.Str("task_id"));
        Assert.Equal("active", (await _server.Persistence.LoadSessionAsync("s1", Ct))?.Status);
    }

    [Fact]
    public async Task PostSession_WithoutId_GeneratesOne()
    {
        JsonElement session = await (await _client.PostJsonAsync("/api/sessions", """{"type":"batch","status":"active"}""")).ExpectAsync(HttpStatusCode.Created);

        Assert.StartsWith("session_", session.Str("id"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostSession_ExistingId_Answers409()
    {
        await _client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"interactive","status":"active"}""");

        await (await _client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"batch","status":"active"}""")).ExpectProblemAsync(HttpStatusCode.Conflict);
    }

    [Theory]
    [InlineData("""{"status":"active"}""", "type")]
    [InlineData("""{"type":"interactive"}""", "status")]
    [InlineData("""{"type":"interactive","status":"active","task_id":"../x"}""", "task_id")]
    [InlineData("""{"type":"interactive","status":"active","taskId":"t"}""", "taskId")]
    [InlineData("""{"id":"a/b","type":"interactive","status":"active"}""", "id")]
    public async Task PostSession_InvalidField_Answers400NamingTheField(string body, string field)
    {
        JsonElement problem = await (await _client.PostJsonAsync("/api/sessions", body)).ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(field, problem.Str("field"));
        Assert.Empty(await _server.Persistence.LoadSessionsAsync(Ct));
    }

    [Fact]
    public async Task PostSession_MalformedJson_Answers400()
    {
        await (await _client.PostJsonAsync("/api/sessions", "{\"type\"")).ExpectProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task ListAndGetSessions_ReturnWhatWasCreated()
    {
        await _client.PostJsonAsync("/api/sessions", """{"id":"s2","type":"batch","status":"active"}""");
        await _client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"interactive","status":"active"}""");

        JsonElement list = await (await _client.GetUrlAsync("/api/sessions")).ExpectAsync(HttpStatusCode.OK);
        JsonElement one = await (await _client.GetUrlAsync("/api/sessions/s2")).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal(["s1", "s2"], list.EnumerateArray().Select(s => s.Str("id")));
        Assert.Equal("batch", one.Str("type"));
        await (await _client.GetUrlAsync("/api/sessions/s9")).ExpectProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task PatchSession_ChangesOnlyGivenFields()
    {
        await _client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"interactive","status":"active"}""");

        JsonElement session = await (await _client.PatchJsonAsync("/api/sessions/s1", """{"status":"closed","task_id":"task_2"}""")).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal("closed", session.Str("status"));
        Assert.Equal("interactive", session.Str("type"));
        Assert.Equal("task_2", session.Str("task_id"));
        Assert.Equal("closed", (await _server.Persistence.LoadSessionAsync("s1", Ct))!.Status);
    }

    [Fact]
    public async Task PatchSession_ErrorCases()
    {
        await _client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"interactive","status":"active"}""");

        await (await _client.PatchJsonAsync("/api/sessions/s9", """{"status":"closed"}""")).ExpectProblemAsync(HttpStatusCode.NotFound);
        await (await _client.PatchJsonAsync("/api/sessions/a.b", """{"status":"closed"}""")).ExpectProblemAsync(HttpStatusCode.BadRequest);
        await (await _client.PatchJsonAsync("/api/sessions/s1", """{"state":"closed"}""")).ExpectProblemAsync(HttpStatusCode.BadRequest);
        await (await _client.PatchJsonAsync("/api/sessions/s1", "[")).ExpectProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal("active", (await _server.Persistence.LoadSessionAsync("s1", Ct))!.Status);
    }

    [Fact]
    public async Task SessionLog_AppendsTextAndReadsItBack()
    {
        await _client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"interactive","status":"active"}""");

        HttpResponseMessage first = await _client.PostAsync("/api/sessions/s1/log", Text("line one\n"), Ct);
        HttpResponseMessage second = await _client.PostAsync("/api/sessions/s1/log", Text("línea dos ✓\n"), Ct);
        HttpResponseMessage read = await _client.GetUrlAsync("/api/sessions/s1/log");

        Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, second.StatusCode);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal("text/plain", read.ContentType()?.MediaType);
        Assert.Equal("line one\nlínea dos ✓\n", await read.TextAsync());
        // On disk each append is a checksummed frame holding the text exactly as sent (the framed format, issue 10).
        byte[] stored = await File.ReadAllBytesAsync(_server.File("logs", "session_s1.log"), Ct);
        int one = stored.AsSpan().IndexOf("line one\n"u8);
        Assert.True(one >= 0 && stored.AsSpan(one).IndexOf(System.Text.Encoding.UTF8.GetBytes("línea dos ✓\n")) > 0);
    }

    [Fact]
    public async Task SessionLog_OfSessionThatLoggedNothing_IsEmpty()
    {
        await _client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"interactive","status":"active"}""");

        HttpResponseMessage read = await _client.GetUrlAsync("/api/sessions/s1/log");

        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal("", await read.TextAsync());
    }

    [Fact]
    public async Task SessionLog_ErrorCases()
    {
        await _client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"interactive","status":"active"}""");

        await (await _client.PostAsync("/api/sessions/s9/log", Text("x"), Ct)).ExpectProblemAsync(HttpStatusCode.NotFound);
        await (await _client.GetUrlAsync("/api/sessions/s9/log")).ExpectProblemAsync(HttpStatusCode.NotFound);
        await (await _client.PostAsync("/api/sessions/a.b/log", Text("x"), Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest);
        await (await _client.GetUrlAsync("/api/sessions/a.b/log")).ExpectProblemAsync(HttpStatusCode.BadRequest);
        await (await _client.PostAsync("/api/sessions/s1/log", Text(""), Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest);
        var invalidUtf8 = new ByteArrayContent([0x61, 0xC3, 0x28]);
        invalidUtf8.Headers.ContentType = new("text/plain");
        await (await _client.PostAsync("/api/sessions/s1/log", invalidUtf8, Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest);
        Assert.False(File.Exists(_server.File("logs", "session_s1.log")) && new FileInfo(_server.File("logs", "session_s1.log")).Length > 0);
    }
}
