using System.Net;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Dashboard;

public sealed class EventStreamTests
{
    [Fact]
    public async Task Events_StreamItemChanges_WithIncreasingIds()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        await using var events = await SseReader.OpenAsync(client);

        await client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d"}""");
        await client.PatchJsonAsync("/api/tasks/task_1", """{"status":"in_progress"}""");
        await client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"interactive","status":"active"}""");
        await client.PostAsync("/api/sessions/s1/log", Text("line\n"), Ct);
        await client.DeleteUrlAsync("/api/tasks/task_1");
        await client.PostAsync("/api/state/save", null, Ct);

        List<SseReader.Event> seen = await events.ReadAsync(6);

        Assert.Equal(["task:saved", "task:saved", "session:saved", "session:log", "task:deleted", "state:saved"], seen.Select(e => e.Type));
        Assert.Equal("task_1", Data(seen[0]).GetProperty("id").GetString());
        Assert.Equal("s1", Data(seen[3]).GetProperty("id").GetString());
        Assert.True(seen.Zip(seen.Skip(1)).All(p => p.First.Id < p.Second.Id));
        Assert.True(Data(seen[5]).GetProperty("revision").GetInt64() > 0);
    }

    [Fact]
    public async Task Events_WhileNothingHappens_SendAHeartbeat()
    {
        await using var server = new StateServerFactory(("StatePersistence:Server:EventsHeartbeat", "00:00:00.200"));
        using HttpClient client = server.Client();
        await using var events = await SseReader.OpenAsync(client);

        Assert.Equal(": heartbeat", await events.NextCommentAsync());
    }

    [Fact]
    public async Task Events_AnActionNamedByTheDashboard_IsAudited_InTheStreamAndTheLog()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        await using var events = await SseReader.OpenAsync(client);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/state/save");
        request.Headers.Add("X-StatePersistence-Action", "snapshot");
        await client.SendAsync(request, Ct);

        SseReader.Event audit = (await events.ReadAsync(2)).First(e => e.Type == "audit");
        Assert.Equal("snapshot", Data(audit).GetProperty("action").GetString());
        Assert.Equal("/api/state/save", Data(audit).GetProperty("path").GetString());
        Assert.Contains(server.Logs.Entries, e => e.Text.Contains("operator action snapshot", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Events_WithAKey_RequireIt()
    {
        await using var server = new StateServerFactory(("STATE_API_KEY", "k3y-Secret-Value-42-0123456789abcdef"));
        using HttpClient client = server.Client();

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetUrlAsync("/api/events")).StatusCode);
    }

    private static JsonElement Data(SseReader.Event e) => JsonDocument.Parse(e.Data).RootElement;
}
