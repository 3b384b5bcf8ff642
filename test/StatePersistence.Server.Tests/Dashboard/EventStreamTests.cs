using System.Net;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Dashboard;

public sealed class EventStreamTests
{
    [Fact]
    public async Task Events_StreamItemChanges_WithTheirRevisions_AndIds()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        await using var events = await SseReader.OpenAsync(client);

        await client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d"}""");
        HttpResponseMessage patched = await client.PatchJsonAsync("/api/tasks/task_1", """{"status":"in_progress"}""");
        await client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"interactive","status":"active"}""");
        await client.PostAsync("/api/sessions/s1/log", Text("line\n"), Ct);
        await client.PostJsonAsync("/api/reports", """{"id":"r1","type":"t","data":1}""");
        await client.DeleteUrlAsync("/api/tasks/task_1");
        await client.PostAsync("/api/state/save", null, Ct);

        List<SseReader.Event> seen = await events.ReadAsync(7);

        Assert.Equal(["task:created", "task:updated", "session:created", "session:log", "report:saved", "task:deleted", "state:saved"], seen.Select(e => e.Type));
        Assert.Equal("task_1", Data(seen[0]).GetProperty("id").GetString());
        Assert.Equal(patched.Headers.ETag!.ToString(), $"\"{Data(seen[1]).GetProperty("revision").GetInt64()}\"");
        Assert.Equal("s1", Data(seen[3]).GetProperty("id").GetString());
        Assert.Equal("r1", Data(seen[4]).GetProperty("id").GetString());
        Assert.Equal(seen.Count, seen.Select(e => e.Id).Distinct().Count());
        Assert.All(seen, e => Assert.False(string.IsNullOrEmpty(e.Id)));
        Assert.True(Data(seen[6]).GetProperty("revision").GetInt64() > 0);
    }

    [Fact]
    public async Task Events_AfterAReconnectWithLastEventId_ResumeWithNothingMissedOrRepeated()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        string lastId;
        await using (SseReader first = await SseReader.OpenAsync(client))
        {
            await client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d"}""");
            lastId = (await first.ReadAsync(1))[0].Id!;
        }

        // Disconnected: every kind of change happens meanwhile.
        await client.PostJsonAsync("/api/tasks", """{"id":"task_2","description":"d"}""");
        await client.PatchJsonAsync("/api/tasks/task_1", """{"status":"completed"}""");
        await client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"interactive","status":"active"}""");
        await client.PostJsonAsync("/api/reports", """{"id":"r1","type":"t","data":1}""");
        await client.DeleteUrlAsync("/api/tasks/task_2");
        await using SseReader resumed = await SseReader.OpenAsync(client, lastId);
        await client.PostJsonAsync("/api/tasks", """{"id":"task_3","description":"d"}""");

        List<SseReader.Event> seen = await resumed.ReadAsync(6);

        Assert.Equal([("task:created", "task_2"), ("task:updated", "task_1"), ("session:created", "s1"), ("report:saved", "r1"),
            ("task:deleted", "task_2"), ("task:created", "task_3")], seen.Select(e => (e.Type, Data(e).GetProperty("id").GetString())));

        // The first stream ended with its client: cleanly, without an error in the server's log.
        Assert.DoesNotContain(server.Logs.Entries, e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Error);
    }

    [Fact]
    public async Task Events_AFirstConnection_ResumesFromTheLastEventIdParameter()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        string lastId;
        await using (SseReader first = await SseReader.OpenAsync(client))
        {
            await client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d"}""");
            lastId = (await first.ReadAsync(1))[0].Id!;
        }

        await client.PostJsonAsync("/api/tasks", """{"id":"task_2","description":"d"}""");
        await using SseReader resumed = await SseReader.OpenAsync(client, url: "/api/events?lastEventId=" + Uri.EscapeDataString(lastId));

        SseReader.Event missed = Assert.Single(await resumed.ReadAsync(1));
        Assert.Equal(("task:created", "task_2"), (missed.Type, Data(missed).GetProperty("id").GetString()));
    }

    [Fact]
    public async Task Events_AChangeMadeThroughTheLibrary_ReachesTheStream()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        await using var events = await SseReader.OpenAsync(client);

        await server.Persistence.SaveTaskAsync(new Model.AgentTask { Id = "task_lib", Description = "saved by the library" }, Ct);

        SseReader.Event created = Assert.Single(await events.ReadAsync(1));
        Assert.Equal("task:created", created.Type);
        Assert.Equal("task_lib", Data(created).GetProperty("id").GetString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("not-an-id")]
    public async Task Events_ALastEventIdOlderThanHeld_OrUnreadable_StartWithAReset(string? unreadable)
    {
        await using var server = new StateServerFactory(("StatePersistence:EventHistory", "3"));
        using HttpClient client = server.Client();
        string oldId;
        await using (SseReader first = await SseReader.OpenAsync(client))
        {
            await client.PostJsonAsync("/api/tasks", """{"id":"task_0","description":"d"}""");
            oldId = (await first.ReadAsync(1))[0].Id!;
        }

        // The stream is fed from the store's change feed after a save is acknowledged: a reader that watches the four
        // creates arrive knows the history has moved past the old position before the resume asks for it. So does one
        // that gets a reset instead: with a history of 3, four creates published before it read one leave it behind
        // too (under load they did, and the watch waited for creates it would never be sent).
        await using (SseReader watch = await SseReader.OpenAsync(client))
        {
            for (int i = 1; i <= 4; i++)
            {
                await client.PostJsonAsync("/api/tasks", $$"""{"id":"task_{{i}}","description":"d"}""");
            }

            int created = 0;
            bool leftBehind = false;
            while (created < 4 && !leftBehind)
            {
                List<SseReader.Event> read = await watch.ReadAsync(1);
                created += read.Count(e => e.Type == "task:created");
                leftBehind = read.Any(e => e.Type == "reset");
            }
        }

        await using SseReader resumed = await SseReader.OpenAsync(client, unreadable ?? oldId);
        SseReader.Event reset = Assert.Single(await resumed.ReadAsync(1));
        Assert.Equal("reset", reset.Type);
        Assert.False(string.IsNullOrEmpty(reset.Id));

        // It carries a position: the stream goes on after it.
        await client.PostJsonAsync("/api/tasks", """{"id":"task_5","description":"d"}""");
        List<SseReader.Event> next = await resumed.ReadAsync(1);
        Assert.Contains(next, e => e.Type == "task:created");
    }

    [Fact]
    public async Task Events_AnIdOfAnotherStream_PastTheStateLoaded_StartWithAReset_WhileTheEarlierProcesssOwnIdResumes()
    {
        using var directory = new TempDirectory();
        (string Key, string? Value) statePath = ("StatePersistence:StatePath", directory.Combine("state"));
        string earlierId;
        await using (var earlier = new StateServerFactory(statePath))
        {
            using HttpClient client = earlier.Client();
            await using SseReader events = await SseReader.OpenAsync(client);
            await CreateTasksAsync(earlier, 1, 40);
            earlierId = (await events.ReadAsync(40))[^1].Id!;
        }

        // The next process loads revision 40; everything after it is its own (this epoch) on a store of one writer.
        await using var server = new StateServerFactory(statePath);
        using HttpClient restarted = server.Client();
        await CreateTasksAsync(server, 41, 65);

        // The earlier process's last id, at the state loaded, goes on: this process's events, none missed or repeated.
        await using (SseReader resumed = await SseReader.OpenAsync(restarted, earlierId))
        {
            List<SseReader.Event> seen = await resumed.ReadAsync(26);
            Assert.Equal("state:loaded", seen[0].Type);
            Assert.Equal(Enumerable.Range(41, 25).Select(i => $"task_{i}"), seen.Skip(1).Select(e => Data(e).GetProperty("id").GetString()));
        }

        // An id of another epoch at 60 (forged, another server's, or a timeline lost to a restore or relaxed durability)
        // is none of this process's, and no earlier process of this store can have reached 60 on it: resuming after 60
        // would skip 41-60 without a word.
        string forged = "deadbeef.60.0";
        Assert.False(earlierId.StartsWith("deadbeef.", StringComparison.Ordinal));
        await using SseReader refused = await SseReader.OpenAsync(restarted, forged);
        SseReader.Event reset = Assert.Single(await refused.ReadAsync(1));
        Assert.Equal("reset", reset.Type);
        Assert.Equal(65, Data(reset).GetProperty("revision").GetInt64());
    }

    private static async Task CreateTasksAsync(StateServerFactory server, int first, int last)
    {
        for (int i = first; i <= last; i++)
        {
            await server.Persistence.SaveTaskAsync(new Model.AgentTask { Id = $"task_{i}", Description = "d" }, Ct);
        }
    }

    [Fact]
    public async Task Events_WhileNothingHappens_SendAHeartbeat()
    {
        await using var server = new StateServerFactory(("StatePersistence:Server:EventsHeartbeat", "00:00:00.200"));
        using HttpClient client = server.Client();
        await using var events = await SseReader.OpenAsync(client);

        Assert.Equal(": heartbeat", await events.NextCommentAsync());
    }

    /// <summary>
    /// The first comment announces the heartbeat interval, so a client (statectl watch) can bound its wait by it; before
    /// 2026-12-08 it was <c>: connected</c> alone, and a client could not tell an idle stream of a server with a long
    /// <c>EventsHeartbeat</c> from a dead connection.
    /// </summary>
    [Theory]
    [InlineData("00:00:20", ": connected heartbeat=20000")]
    [InlineData("00:00:00.0015", ": connected heartbeat=2")]
    public async Task Events_FirstComment_AnnouncesTheHeartbeatInterval_InWholeMillisecondsRoundedUp(string heartbeat, string expected)
    {
        await using var server = new StateServerFactory(("StatePersistence:Server:EventsHeartbeat", heartbeat));
        using HttpClient client = server.Client();
        await using var events = await SseReader.OpenAsync(client);

        Assert.Equal(expected, events.Connected);
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
        Assert.Null(audit.Id);
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
