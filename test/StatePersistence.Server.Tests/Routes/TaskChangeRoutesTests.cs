using System.Net;
using System.Text.Json;
using StatePersistence.Model;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>PUT, PATCH and log appends: the routes that change an existing task.</summary>
public sealed class TaskChangeRoutesTests : IAsyncDisposable
{
    private readonly StateServerFactory _server = new();
    private readonly HttpClient _client;

    public TaskChangeRoutesTests() => _client = _server.Client();

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task PatchTask_ToInProgressThenCompleted_StampsStartedAndCompletedAt()
    {
        await CreateAsync("task_1");
        _server.Time.Advance(TimeSpan.FromMinutes(5));

        JsonElement started = await (await _client.PatchJsonAsync("/api/tasks/task_1", """{"status":"in_progress"}""")).ExpectAsync(HttpStatusCode.OK);
        _server.Time.Advance(TimeSpan.FromMinutes(85));
        JsonElement completed = await (await _client.PatchJsonAsync("/api/tasks/task_1", """{"status":"completed","result":{"tests_passed":true}}"""))
            .ExpectAsync(HttpStatusCode.OK);

        Assert.Equal("2024-01-01T10:05:00Z", started.Str("started_at"));
        Assert.Equal("2024-01-01T10:05:00Z", started.Str("updated_at"));
        Assert.False(started.Has("completed_at"));
        Assert.Equal("completed", completed.Str("status"));
        Assert.Equal("2024-01-01T10:05:00Z", completed.Str("started_at"));
        Assert.Equal("2024-01-01T11:30:00Z", completed.Str("completed_at"));
        Assert.Equal("2024-01-01T11:30:00Z", completed.Str("updated_at"));
        Assert.True(completed.GetProperty("result").GetProperty("tests_passed").GetBoolean());
        Assert.Equal("2024-01-01T11:30:00Z", (await (await _client.GetUrlAsync("/api/tasks/task_1")).JsonAsync()).Str("completed_at"));
    }

    [Fact]
    public async Task PatchTask_ToFailed_StampsCompletedAt()
    {
        await CreateAsync("task_1");
        _server.Time.Advance(TimeSpan.FromSeconds(30));

        JsonElement failed = await (await _client.PatchJsonAsync("/api/tasks/task_1", """{"status":"failed"}""")).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal("2024-01-01T10:00:30Z", failed.Str("completed_at"));
        Assert.False(failed.Has("started_at"));
    }

    [Fact]
    public async Task PatchTask_DescriptionOnly_StampsUpdatedAtButNoStatusTimes()
    {
        await CreateAsync("task_1");
        _server.Time.Advance(TimeSpan.FromSeconds(1));

        JsonElement task = await (await _client.PatchJsonAsync("/api/tasks/task_1", """{"description":"changed"}""")).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal("changed", task.Str("description"));
        Assert.Equal("pending", task.Str("status"));
        Assert.Equal("2024-01-01T10:00:01Z", task.Str("updated_at"));
        Assert.False(task.Has("started_at"));
    }

    [Fact]
    public async Task PatchTask_UnknownStatus_Answers400AndChangesNothing()
    {
        await CreateAsync("task_1");
        long revision = _server.Persistence.Revision;

        JsonElement problem = await (await _client.PatchJsonAsync("/api/tasks/task_1", """{"status":"done"}""")).ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal("status", problem.Str("field"));
        Assert.Contains("in_progress", problem.Str("detail"), StringComparison.Ordinal);
        Assert.Equal(revision, _server.Persistence.Revision);
    }

    [Theory]
    [InlineData("""{"stauts":"completed"}""", "stauts")]
    [InlineData("""{"status":true}""", "status")]
    [InlineData("""{"logs":[]}""", "logs")]
    public async Task PatchTask_InvalidField_Answers400NamingTheField(string body, string field)
    {
        await CreateAsync("task_1");

        JsonElement problem = await (await _client.PatchJsonAsync("/api/tasks/task_1", body)).ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(field, problem.Str("field"));
    }

    [Fact]
    public async Task PatchTask_MalformedJson_Answers400()
    {
        await CreateAsync("task_1");

        await (await _client.PatchJsonAsync("/api/tasks/task_1", "{\"status\":")).ExpectProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task PatchTask_Absent_Answers404()
    {
        await (await _client.PatchJsonAsync("/api/tasks/task_9", """{"status":"completed"}""")).ExpectProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task PatchTask_UnsafeId_Answers400()
    {
        await (await _client.PatchJsonAsync("/api/tasks/a.b", """{"status":"completed"}""")).ExpectProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task PutTask_New_Answers201ThenReplacing_Answers200AndKeepsCreatedAt()
    {
        HttpResponseMessage created = await _client.PutJsonAsync("/api/tasks/task_1", """{"description":"v1","status":"pending","tool":"CLAUDECODE","priority":3}""");
        JsonElement first = await created.ExpectAsync(HttpStatusCode.Created);
        _server.Time.Advance(TimeSpan.FromMinutes(1));

        JsonElement second = await (await _client.PutJsonAsync("/api/tasks/task_1", """{"id":"task_1","description":"v2","status":"in_progress","priority":4}"""))
            .ExpectAsync(HttpStatusCode.OK);

        Assert.Equal("/api/tasks/task_1", created.Headers.Location?.OriginalString);
        Assert.Equal(3, first.GetProperty("priority").GetInt32());
        Assert.Equal("v2", second.Str("description"));
        Assert.Equal(4, second.GetProperty("priority").GetInt32());
        Assert.False(second.Has("tool"));
        Assert.Equal("2024-01-01T10:00:00Z", second.Str("created_at"));
        Assert.Equal("2024-01-01T10:01:00Z", second.Str("updated_at"));
        AgentTask stored = (await _server.Persistence.LoadTaskAsync("task_1", Ct))!;
        Assert.Equal("v2", stored.Description);
        Assert.Equal(4, stored.ExtensionData!["priority"].GetInt32());
    }

    [Fact]
    public async Task PutTask_IdDiffersFromRoute_Answers400()
    {
        JsonElement problem = await (await _client.PutJsonAsync("/api/tasks/task_1", """{"id":"task_2","description":"d"}"""))
            .ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal("id", problem.Str("field"));
        Assert.Empty(await _server.Persistence.LoadTasksAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task PutTask_UnknownStatus_Answers400()
    {
        await (await _client.PutJsonAsync("/api/tasks/task_1", """{"description":"d","status":"done"}""")).ExpectProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task PutTask_UnsafeIdOrMalformedJson_Answers400()
    {
        await (await _client.PutJsonAsync("/api/tasks/a.b", """{"description":"d"}""")).ExpectProblemAsync(HttpStatusCode.BadRequest);
        await (await _client.PutJsonAsync("/api/tasks/task_1", """{"description":""")).ExpectProblemAsync(HttpStatusCode.BadRequest);
        Assert.Empty(await _server.Persistence.LoadTasksAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task AppendLog_Answers201WithServerTimestampAndAppends()
    {
        await CreateAsync("task_1");
        _server.Time.Advance(TimeSpan.FromMinutes(5));

        JsonElement entry = await (await _client.PostJsonAsync("/api/tasks/task_1/logs", """{"level":"info","type":"system","message":"Task started"}"""))
            .ExpectAsync(HttpStatusCode.Created);
        await (await _client.PostJsonAsync("/api/tasks/task_1/logs", """{"level":"warn","type":"output","message":"second"}"""))
            .ExpectAsync(HttpStatusCode.Created);

        Assert.Equal("2024-01-01T10:05:00Z", entry.Str("timestamp"));
        Assert.Equal("Task started", entry.Str("message"));
        AgentTask task = (await _server.Persistence.LoadTaskAsync("task_1", Ct))!;
        Assert.Equal(["Task started", "second"], task.Logs.Select(l => l.Message));
        Assert.Equal(["info", "warn"], task.Logs.Select(l => l.Level));
        Assert.Equal(StateServerFactory.Start.AddMinutes(5), task.UpdatedAt);
    }

    [Fact]
    public async Task AppendLog_Concurrently_KeepsEveryEntry()
    {
        await CreateAsync("task_1");

        await Task.WhenAll(Enumerable.Range(0, 20).Select(async i =>
            await (await _client.PostJsonAsync("/api/tasks/task_1/logs", $$"""{"level":"info","type":"output","message":"m{{i}}"}"""))
                .ExpectAsync(HttpStatusCode.Created)));

        AgentTask task = (await _server.Persistence.LoadTaskAsync("task_1", Ct))!;
        Assert.Equal(Enumerable.Range(0, 20).Select(i => "m" + i).Order(StringComparer.Ordinal), task.Logs.Select(l => l.Message!).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("""{"type":"system","message":"m"}""", "level")]
    [InlineData("""{"level":"info","message":"m"}""", "type")]
    [InlineData("""{"level":"info","type":"system"}""", "message")]
    [InlineData("""{"level":"info","type":"system","message":"m","timestamp":"2024-01-01T00:00:00Z"}""", "timestamp")]
    public async Task AppendLog_InvalidField_Answers400NamingTheField(string body, string field)
    {
        await CreateAsync("task_1");

        JsonElement problem = await (await _client.PostJsonAsync("/api/tasks/task_1/logs", body)).ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(field, problem.Str("field"));
        Assert.Empty((await _server.Persistence.LoadTaskAsync("task_1", Ct))!.Logs);
    }

    [Fact]
    public async Task AppendLog_AbsentTask_Answers404()
    {
        await (await _client.PostJsonAsync("/api/tasks/task_9/logs", """{"level":"info","type":"system","message":"m"}"""))
            .ExpectProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task AppendLog_UnsafeIdOrMalformedJson_Answers400()
    {
        await CreateAsync("task_1");

        await (await _client.PostJsonAsync("/api/tasks/a.b/logs", """{"level":"info","type":"system","message":"m"}""")).ExpectProblemAsync(HttpStatusCode.BadRequest);
        await (await _client.PostJsonAsync("/api/tasks/task_1/logs", "{")).ExpectProblemAsync(HttpStatusCode.BadRequest);
    }

    private async Task CreateAsync(string id) =>
        await (await _client.PostJsonAsync("/api/tasks", $$"""{"id":"{{id}}","description":"Implement authentication"}""")).ExpectAsync(HttpStatusCode.Created);
}
