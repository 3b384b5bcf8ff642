using System.Net;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

public sealed class TaskRoutesTests : IAsyncDisposable
{
    private readonly StateServerFactory _server = new();
    private readonly HttpClient _client;

    public TaskRoutesTests() => _client = _server.Client();

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task PostTask_WithoutId_GeneratesIdAndAnswers201WithLocation()
    {
        HttpResponseMessage response = await _client.PostJsonAsync("/api/tasks", """{"description":"Implement authentication","tool":"CLAUDECODE"}""");

        JsonElement task = await response.ExpectAsync(HttpStatusCode.Created);
        string id = task.Str("id");
        Assert.StartsWith("task_", id, StringComparison.Ordinal);
        Assert.Equal("/api/tasks/" + id, response.Headers.Location?.OriginalString);
        Assert.Equal("pending", task.Str("status"));
        Assert.Equal("CLAUDECODE", task.Str("tool"));
        Assert.Equal("2024-01-01T10:00:00Z", task.Str("created_at"));
        Assert.Equal("2024-01-01T10:00:00Z", task.Str("updated_at"));
        Assert.Equal(JsonValueKind.Array, task.GetProperty("logs").ValueKind);
        Assert.NotNull(await _server.Persistence.LoadTaskAsync(id, Ct));
    }

    /// <summary>
    /// JSON answers are serialized whole and sent with their length, not chunked (one send per response); timestamps
    /// in the server's own form and in any other ISO-8601 form it accepts come back in the stored form.
    /// </summary>
    [Fact]
    public async Task TaskAnswers_CarryTheirContentLength_AndTimestampsInTheStoredForm()
    {
        HttpResponseMessage put = await _client.PutJsonAsync("/api/tasks/task_1",
            """{"description":"d","created_at":"2024-01-01T10:00:00+01:00","started_at":"2024-01-01T10:00:00.1200000Z","logs":[{"timestamp":"2024-01-01T10:00:00.5Z","level":"info","type":"system","message":"m"}]}""");
        HttpResponseMessage get = await _client.GetUrlAsync("/api/tasks/task_1");

        foreach (HttpResponseMessage response in (HttpResponseMessage[])[put, get])
        {
            byte[] body = await response.Content.ReadAsByteArrayAsync(Ct);
            Assert.Equal(body.Length, response.Content.Headers.ContentLength);
            Assert.NotEqual(true, response.Headers.TransferEncodingChunked);
            Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType?.ToString());
            using JsonDocument task = JsonDocument.Parse(body);
            Assert.Equal("2024-01-01T09:00:00Z", task.RootElement.Str("created_at"));
            Assert.Equal("2024-01-01T10:00:00.12Z", task.RootElement.Str("started_at"));
            Assert.Equal("2024-01-01T10:00:00.5Z", task.RootElement.GetProperty("logs")[0].Str("timestamp"));
        }

        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
    }

    /// <summary>
    /// A PUT is answered with the JSON the library stored, not serialized again: it must be byte for byte what a GET,
    /// which serializes the task with the server's own context, answers, for the bodies whose writing differs most
    /// (escapes, non-ASCII and astral text, application fields nested and at the top, a result, fraction digits).
    /// </summary>
    [Fact]
    public async Task PutAnswers_AreByteForByteWhatAGetAnswers_CreatedAndReplaced()
    {
        const string Body = """{"description":"<b>\"q\"</b> & caf\u00e9 \ud83d\ude00 tab\t","status":"in_progress","tool":"CLAUDECODE","started_at":"2024-01-01T09:59:59.1234567Z","logs":[{"timestamp":"2024-01-01T10:00:00.5Z","level":"warn","type":"output","message":"x < y","line":7}],"result":{"ok":true,"n":[1,2.5,null],"s":"\u2028"},"priority":3,"meta":{"a":{"b":[]}}}""";
        foreach (HttpStatusCode expected in (HttpStatusCode[])[HttpStatusCode.Created, HttpStatusCode.OK])
        {
            HttpResponseMessage put = await _client.PutJsonAsync("/api/tasks/task_1", Body);
            byte[] answered = await put.Content.ReadAsByteArrayAsync(Ct);
            HttpResponseMessage get = await _client.GetUrlAsync("/api/tasks/task_1");
            byte[] read = await get.Content.ReadAsByteArrayAsync(Ct);

            Assert.Equal(expected, put.StatusCode);
            Assert.Equal(System.Text.Encoding.UTF8.GetString(read), System.Text.Encoding.UTF8.GetString(answered));
            Assert.Equal(get.Headers.ETag, put.Headers.ETag);
            Assert.Equal(answered.Length, put.Content.Headers.ContentLength);
            _server.Time.Advance(TimeSpan.FromSeconds(1));
        }
    }

    /// <summary>
    /// Issue 12: the store assigns revisions. A PUT body (a whole task, unknown fields kept) may carry one, which is
    /// ignored; POST's fields are a closed list, so it refuses one by name. Responses carry the stored revision.
    /// </summary>
    [Fact]
    public async Task PutTask_RevisionInTheBody_IsIgnored_AndTheResponseCarriesTheStoredOne()
    {
        JsonElement created = await (await _client.PutJsonAsync("/api/tasks/task_1", """{"description":"d","revision":999}"""))
            .ExpectAsync(HttpStatusCode.Created);
        JsonElement replaced = await (await _client.PutJsonAsync("/api/tasks/task_1", """{"description":"e","revision":999}"""))
            .ExpectAsync(HttpStatusCode.OK);
        JsonElement refused = await (await _client.PostJsonAsync("/api/tasks", """{"id":"task_2","description":"d","revision":999}"""))
            .ExpectProblemAsync(HttpStatusCode.BadRequest);
        JsonElement posted = await (await _client.PostJsonAsync("/api/tasks", """{"id":"task_2","description":"d"}"""))
            .ExpectAsync(HttpStatusCode.Created);

        Assert.Equal(1, created.GetProperty("revision").GetInt64());
        Assert.Equal(2, replaced.GetProperty("revision").GetInt64());
        Assert.Contains("revision", refused.Str("detail"), StringComparison.Ordinal);
        Assert.Equal(3, posted.GetProperty("revision").GetInt64());
        JsonElement stored = await (await _client.GetUrlAsync("/api/tasks/task_1")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(2, stored.GetProperty("revision").GetInt64());
        Assert.Equal(2, (await _server.Persistence.LoadTaskAsync("task_1", Ct))!.Revision);
    }

    [Fact]
    public async Task PostTask_InProgress_StampsStartedAt()
    {
        JsonElement task = await (await _client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d","status":"in_progress"}"""))
            .ExpectAsync(HttpStatusCode.Created);

        Assert.Equal("2024-01-01T10:00:00Z", task.Str("started_at"));
    }

    [Fact]
    public async Task PostTask_ExistingId_Answers409AndKeepsTheFirst()
    {
        await (await _client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"first"}""")).ExpectAsync(HttpStatusCode.Created);

        JsonElement problem = await (await _client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"second"}"""))
            .ExpectProblemAsync(HttpStatusCode.Conflict);

        Assert.Equal("task_1", problem.Str("id"));
        Assert.Contains("task_1", problem.Str("detail"), StringComparison.Ordinal);
        Assert.Equal("first", (await _server.Persistence.LoadTaskAsync("task_1", Ct))!.Description);
    }

    [Theory]
    [InlineData("""{"id":"t"}""", "description")]
    [InlineData("""{"description":"  "}""", "description")]
    [InlineData("""{"description":"d","status":"done"}""", "status")]
    [InlineData("""{"description":"d","stauts":"pending"}""", "stauts")]
    [InlineData("""{"description":5}""", "description")]
    [InlineData("""{"description":"d","created_at":"2024-01-01T00:00:00Z"}""", "created_at")]
    public async Task PostTask_InvalidField_Answers400NamingTheField(string body, string field)
    {
        JsonElement problem = await (await _client.PostJsonAsync("/api/tasks", body)).ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(field, problem.Str("field"));
        Assert.Contains(field, problem.Str("detail"), StringComparison.Ordinal);
        Assert.Empty(await _server.Persistence.LoadTasksAsync(TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData("{\"description\":")]
    [InlineData("not json")]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("[1,2]")]
    public async Task PostTask_MalformedJson_Answers400(string body)
    {
        await (await _client.PostJsonAsync("/api/tasks", body)).ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Empty(await _server.Persistence.LoadTasksAsync(TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("a\\\\b")]
    [InlineData("../escape")]
    [InlineData("a\\u0001b")]
    [InlineData("a.b")]
    [InlineData("")]
    public async Task PostTask_UnsafeId_Answers400AndWritesNothing(string id)
    {
        long revision = _server.Persistence.Revision;

        JsonElement problem = await (await _client.PostJsonAsync("/api/tasks", $$"""{"id":"{{id}}","description":"d"}"""))
            .ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal("id", problem.Str("field"));
        Assert.Equal("Invalid id", problem.Str("title"));
        Assert.Equal(revision, _server.Persistence.Revision);
        Assert.Empty(Directory.GetFiles(_server.File("tasks")));
    }

    [Fact]
    public async Task PostTask_OverLongId_Answers400NamingTheLimit()
    {
        string id = new('a', 129);

        JsonElement problem = await (await _client.PostJsonAsync("/api/tasks", $$"""{"id":"{{id}}","description":"d"}"""))
            .ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Contains("128", problem.Str("detail"), StringComparison.Ordinal);
        Assert.Empty(await _server.Persistence.LoadTasksAsync(TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData("/api/tasks/a.b")]
    [InlineData("/api/tasks/a%01b")]
    [InlineData("/api/tasks/a%2Fb")]
    [InlineData("/api/tasks/a%20b")]
    public async Task GetTask_UnsafeIdInRoute_Answers400(string url)
    {
        JsonElement problem = await (await _client.GetUrlAsync(url)).ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal("id", problem.Str("field"));
    }

    [Fact]
    public async Task GetTask_OverLongIdInRoute_Answers400()
    {
        await (await _client.GetUrlAsync("/api/tasks/" + new string('x', 200))).ExpectProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task GetTask_Absent_Answers404NamingTheId()
    {
        JsonElement problem = await (await _client.GetUrlAsync("/api/tasks/task_9")).ExpectProblemAsync(HttpStatusCode.NotFound);

        Assert.Equal("task_9", problem.Str("id"));
        Assert.Equal("task", problem.Str("kind"));
    }

    [Fact]
    public async Task GetTask_Present_ReturnsItInSnakeCase()
    {
        await _client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"Implement authentication","tool":"CLAUDECODE"}""");

        JsonElement task = await (await _client.GetUrlAsync("/api/tasks/task_1")).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal("Implement authentication", task.Str("description"));
        Assert.Equal("2024-01-01T10:00:00Z", task.Str("created_at"));
    }

    [Fact]
    public async Task ListTasks_WithStatus_ReturnsOnlyThoseTasksSortedById()
    {
        await _client.PostJsonAsync("/api/tasks", """{"id":"b","description":"d","status":"completed"}""");
        await _client.PostJsonAsync("/api/tasks", """{"id":"a","description":"d","status":"completed"}""");
        await _client.PostJsonAsync("/api/tasks", """{"id":"c","description":"d"}""");

        JsonElement all = await (await _client.GetUrlAsync("/api/tasks")).ExpectAsync(HttpStatusCode.OK);
        JsonElement completed = await (await _client.GetUrlAsync("/api/tasks?status=completed")).ExpectAsync(HttpStatusCode.OK);

        JsonElement empty = await (await _client.GetUrlAsync("/api/tasks?status=")).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal(["a", "b", "c"], all.EnumerateArray().Select(t => t.Str("id")));
        Assert.Equal(3, empty.GetArrayLength());
        Assert.Equal(["a", "b"], completed.EnumerateArray().Select(t => t.Str("id")));
    }

    [Fact]
    public async Task ListTasks_UnknownStatus_Answers400()
    {
        JsonElement problem = await (await _client.GetUrlAsync("/api/tasks?status=done")).ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal("status", problem.Str("field"));
    }

    [Fact]
    public async Task DeleteTask_Present_Answers204AndIsGone()
    {
        await _client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d"}""");

        HttpResponseMessage response = await _client.DeleteUrlAsync("/api/tasks/task_1");

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        await (await _client.GetUrlAsync("/api/tasks/task_1")).ExpectProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task DeleteTask_Absent_Answers404()
    {
        await (await _client.DeleteUrlAsync("/api/tasks/task_1")).ExpectProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task DeleteTask_UnsafeId_Answers400()
    {
        await (await _client.DeleteUrlAsync("/api/tasks/a.b")).ExpectProblemAsync(HttpStatusCode.BadRequest);
    }
}
