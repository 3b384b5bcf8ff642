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
