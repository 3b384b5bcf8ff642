using System.Net;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

public sealed class StateRoutesTests : IAsyncDisposable
{
    private readonly StateServerFactory _server = new();
    private readonly HttpClient _client;

    public StateRoutesTests() => _client = _server.Client();

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task GetState_ReturnsTasksSessionsAndMetricsInTheSnapshotFormat()
    {
        await _client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d"}""");
        await _client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"interactive","status":"active"}""");

        JsonElement state = await (await _client.GetUrlAsync("/api/state")).ExpectAsync(HttpStatusCode.OK);

        Assert.False(string.IsNullOrEmpty(state.Str("version")));
        Assert.Equal("task_1", state.GetProperty("tasks")[0].Str("id"));
        Assert.Equal("s1", state.GetProperty("sessions")[0].Str("id"));
        Assert.Equal(1, state.GetProperty("metrics").GetProperty("total_tasks").GetInt32());
    }

    [Fact]
    public async Task GetTaskAndSession_ServeTheStoredJson_ByteForByte()
    {
        // The server writes the model with its own JSON context; what it serves must still read exactly like the files.
        await _client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d"}""");
        _server.Time.Advance(TimeSpan.FromMilliseconds(250));
        await (await _client.PatchJsonAsync("/api/tasks/task_1", """{"status":"in_progress"}""")).ExpectAsync(HttpStatusCode.OK);
        await _client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"interactive","status":"active"}""");
        await _client.PostAsync("/api/state/save", null, Ct);

        string task = await (await _client.GetUrlAsync("/api/tasks/task_1")).TextAsync();
        string session = await (await _client.GetUrlAsync("/api/sessions/s1")).TextAsync();

        Assert.Contains("\"created_at\":\"2024-01-01T10:00:00Z\"", task, StringComparison.Ordinal);
        Assert.Contains("\"updated_at\":\"2024-01-01T10:00:00.25Z\"", task, StringComparison.Ordinal);
        Assert.Equal(WithoutEnvelope(await File.ReadAllTextAsync(_server.File("tasks", "task_1.json"), Ct)), task);
        Assert.Equal(WithoutEnvelope(await File.ReadAllTextAsync(_server.File("sessions", "s1.json"), Ct)), session);
    }

    [Fact]
    public async Task StateAndRecovery_WriteTimestampsInTheStoredFormat()
    {
        await _client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d"}""");
        _server.Time.Advance(TimeSpan.FromMilliseconds(1500));
        await _client.PostAsync("/api/state/save", null, Ct);

        JsonElement state = await (await _client.GetUrlAsync("/api/state")).ExpectAsync(HttpStatusCode.OK);
        JsonElement recovery = await (await _client.GetUrlAsync("/api/dashboard/recovery")).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal("2024-01-01T10:00:00Z", state.GetProperty("tasks")[0].Str("created_at"));
        Assert.Equal("2024-01-01T10:00:01.5Z", state.Str("last_saved"));
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$", recovery.Str("started_at"));
    }

    /// <summary>A stored item as the API serves it: the file minus its last property, the envelope.</summary>
    private static string WithoutEnvelope(string file) => file[..file.LastIndexOf(",\"$envelope\"", StringComparison.Ordinal)] + "}";

    [Fact]
    public async Task SaveState_WritesTheSnapshotAndReturnsLastSaved()
    {
        await _client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d"}""");
        _server.Time.Advance(TimeSpan.FromMinutes(1));

        JsonElement saved = await (await _client.PostAsync("/api/state/save", null, Ct)).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal("2024-01-01T10:01:00Z", saved.Str("last_saved"));
        using JsonDocument file = JsonDocument.Parse(await File.ReadAllTextAsync(_server.File("state.json"), Ct));
        Assert.Equal("2024-01-01T10:01:00Z", file.RootElement.Str("last_saved"));
        Assert.Equal("task_1", file.RootElement.GetProperty("tasks")[0].Str("id"));
        JsonElement state = await (await _client.GetUrlAsync("/api/state")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("2024-01-01T10:01:00Z", state.Str("last_saved"));
    }

    [Fact]
    public async Task GetMetrics_CountsCompletedAndFailedAndAveragesCompletionTime()
    {
        await _client.PostJsonAsync("/api/tasks", """{"id":"a","description":"d","status":"in_progress"}""");
        await _client.PostJsonAsync("/api/tasks", """{"id":"b","description":"d","status":"in_progress"}""");
        await _client.PostJsonAsync("/api/tasks", """{"id":"c","description":"d"}""");
        _server.Time.Advance(TimeSpan.FromSeconds(2));
        await _client.PatchJsonAsync("/api/tasks/a", """{"status":"completed"}""");
        await _client.PatchJsonAsync("/api/tasks/b", """{"status":"failed"}""");

        JsonElement metrics = await (await _client.GetUrlAsync("/api/metrics")).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal(3, metrics.GetProperty("total_tasks").GetInt32());
        Assert.Equal(1, metrics.GetProperty("completed_tasks").GetInt32());
        Assert.Equal(1, metrics.GetProperty("failed_tasks").GetInt32());
        Assert.Equal(2000, metrics.GetProperty("average_completion_time").GetDouble());
    }

    [Fact]
    public async Task UnknownRoute_Answers404ProblemAndWrongMethod_Answers405()
    {
        await (await _client.GetUrlAsync("/api/nothing")).ExpectProblemAsync(HttpStatusCode.NotFound);
        await (await _client.DeleteUrlAsync("/api/state")).ExpectProblemAsync(HttpStatusCode.MethodNotAllowed);
    }
}
