using System.Net;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>Each quota refuses the write that would pass it, names the setting, and stores nothing of it.</summary>
public sealed class QuotaTests
{
    private const string Q = "StatePersistence:Server:Quotas:";

    [Fact]
    public async Task TooManyTasks_Is507NamingTheLimit_AndStoresNothing()
    {
        await using var server = new StateServerFactory((Q + "MaxTasks", "2"));
        using HttpClient client = server.Client();
        await (await client.PostJsonAsync("/api/tasks", """{"id":"t1","description":"d"}""")).ExpectAsync(HttpStatusCode.Created);
        await (await client.PutJsonAsync("/api/tasks/t2", """{"description":"d"}""")).ExpectAsync(HttpStatusCode.Created);

        JsonElement post = await (await client.PostJsonAsync("/api/tasks", """{"id":"t3","description":"d"}""")).ExpectProblemAsync(HttpStatusCode.InsufficientStorage);
        await (await client.PutJsonAsync("/api/tasks/t4", """{"description":"d"}""")).ExpectProblemAsync(HttpStatusCode.InsufficientStorage);
        await (await client.PutJsonAsync("/api/tasks/t2", """{"description":"replaced"}""")).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal("StatePersistence:Server:Quotas:MaxTasks", post.Str("limit"));
        Assert.Contains("MaxTasks", post.Str("detail"), StringComparison.Ordinal);
        Assert.Equal(["t1", "t2"], (await server.Persistence.LoadTasksAsync(Ct)).Select(t => t.Id));
    }

    [Fact]
    public async Task TooManySessionsOrReports_Is507()
    {
        await using var server = new StateServerFactory((Q + "MaxSessions", "1"), (Q + "MaxReports", "1"));
        using HttpClient client = server.Client();
        await (await client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"i","status":"active"}""")).ExpectAsync(HttpStatusCode.Created);
        await (await client.PostJsonAsync("/api/reports", """{"id":"r1","type":"t","data":1}""")).ExpectAsync(HttpStatusCode.Created);

        await (await client.PostJsonAsync("/api/sessions", """{"id":"s2","type":"i","status":"active"}""")).ExpectProblemAsync(HttpStatusCode.InsufficientStorage);
        await (await client.PostJsonAsync("/api/reports", """{"id":"r2","type":"t","data":1}""")).ExpectProblemAsync(HttpStatusCode.InsufficientStorage);
        await (await client.PostJsonAsync("/api/reports", """{"id":"r1","type":"t","data":2}""")).ExpectAsync(HttpStatusCode.Created);

        Assert.Single(await server.Persistence.LoadSessionsAsync(Ct));
        Assert.Equal(["r1"], await server.Persistence.ListReportsAsync(Ct));
    }

    [Fact]
    public async Task TaskSizeLogCountAndMessageLength_Are413_AndTheTaskIsUnchanged()
    {
        await using var server = new StateServerFactory((Q + "MaxTaskBytes", "2000"), (Q + "MaxTaskLogEntries", "2"), (Q + "MaxLogMessageBytes", "100"));
        using HttpClient client = server.Client();
        await (await client.PostJsonAsync("/api/tasks", """{"id":"t1","description":"d"}""")).ExpectAsync(HttpStatusCode.Created);
        string entry = """{"level":"info","type":"t","message":"m"}""";
        await (await client.PostJsonAsync("/api/tasks/t1/logs", entry)).ExpectAsync(HttpStatusCode.Created);
        await (await client.PostJsonAsync("/api/tasks/t1/logs", entry)).ExpectAsync(HttpStatusCode.Created);

        JsonElement count = await (await client.PostJsonAsync("/api/tasks/t1/logs", entry)).ExpectProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        JsonElement message = await (await client.PostJsonAsync("/api/tasks/t1/logs",
            $$"""{"level":"info","type":"t","message":"{{new string('m', 101)}}"}""")).ExpectProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        JsonElement size = await (await client.PatchJsonAsync("/api/tasks/t1", $$"""{"result":"{{new string('r', 2000)}}"}"""))
            .ExpectProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        await (await client.PostJsonAsync("/api/tasks", $$"""{"id":"t2","description":"{{new string('d', 2000)}}"}""")).ExpectProblemAsync(HttpStatusCode.RequestEntityTooLarge);

        Assert.Equal(Q + "MaxTaskLogEntries", count.Str("limit"));
        Assert.Equal(Q + "MaxLogMessageBytes", message.Str("limit"));
        Assert.Equal(Q + "MaxTaskBytes", size.Str("limit"));
        var task = (await server.Persistence.LoadTaskAsync("t1", Ct))!;
        Assert.Equal(2, task.Logs.Count);
        Assert.Null(task.Result);
        Assert.Null(await server.Persistence.LoadTaskAsync("t2", Ct));
    }

    [Fact]
    public async Task QuotaProblems_413And507_CarryATypeLikeEveryOtherProblem()
    {
        await using var server = new StateServerFactory((Q + "MaxTasks", "1"), (Q + "MaxLogMessageBytes", "10"));
        using HttpClient client = server.Client();
        await (await client.PostJsonAsync("/api/tasks", """{"id":"t1","description":"d"}""")).ExpectAsync(HttpStatusCode.Created);

        JsonElement full = await (await client.PostJsonAsync("/api/tasks", """{"id":"t2","description":"d"}""")).ExpectProblemAsync(HttpStatusCode.InsufficientStorage);
        JsonElement large = await (await client.PostJsonAsync("/api/tasks/t1/logs", """{"level":"i","type":"t","message":"0123456789a"}"""))
            .ExpectProblemAsync(HttpStatusCode.RequestEntityTooLarge);

        Assert.Equal("https://tools.ietf.org/html/rfc4918#section-11.5", full.Str("type"));
        Assert.StartsWith("https://tools.ietf.org/html/rfc9110#section-15.5.", large.Str("type"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task APutWithALogMessageOverTheLimit_Is413NamingTheEntry_AsALogAppendIs()
    {
        await using var server = new StateServerFactory((Q + "MaxLogMessageBytes", "100"));
        using HttpClient client = server.Client();
        await (await client.PutJsonAsync("/api/tasks/t1", """{"description":"d"}""")).ExpectAsync(HttpStatusCode.Created);
        string fits = """{"level":"i","type":"t","message":"m"}""";
        // 34 three-byte characters: 102 bytes in UTF-8, though only 34 chars.
        string tooLong = $$"""{"level":"i","type":"t","message":"{{new string('€', 34)}}"}""";

        JsonElement replaced = await (await client.PutJsonAsync("/api/tasks/t1", $$"""{"description":"e","logs":[{{fits}},{{tooLong}}]}"""))
            .ExpectProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        JsonElement created = await (await client.PutJsonAsync("/api/tasks/t2", $$"""{"description":"e","logs":[{{tooLong}}]}"""))
            .ExpectProblemAsync(HttpStatusCode.RequestEntityTooLarge);

        Assert.Equal(Q + "MaxLogMessageBytes", replaced.Str("limit"));
        Assert.Contains("logs[1].message", replaced.Str("detail"), StringComparison.Ordinal);
        Assert.Contains("logs[0].message", created.Str("detail"), StringComparison.Ordinal);
        Assert.Equal("d", (await server.Persistence.LoadTaskAsync("t1", Ct))!.Description);
        Assert.Null(await server.Persistence.LoadTaskAsync("t2", Ct));
        await (await client.PutJsonAsync("/api/tasks/t1", $$"""{"description":"e","logs":[{{fits}}]}""")).ExpectAsync(HttpStatusCode.OK);
    }

    [Fact]
    public async Task SessionLogPastItsLimit_Is413_AndTheLogIsUnchanged()
    {
        await using var server = new StateServerFactory((Q + "MaxSessionLogBytes", "10"));
        using HttpClient client = server.Client();
        await (await client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"i","status":"active"}""")).ExpectAsync(HttpStatusCode.Created);
        Assert.Equal(HttpStatusCode.NoContent, (await client.PostAsync("/api/sessions/s1/log", Text("12345678"), Ct)).StatusCode);

        JsonElement problem = await (await client.PostAsync("/api/sessions/s1/log", Text("abc"), Ct)).ExpectProblemAsync(HttpStatusCode.RequestEntityTooLarge);

        Assert.Equal(Q + "MaxSessionLogBytes", problem.Str("limit"));
        Assert.Equal("12345678", await (await client.GetUrlAsync("/api/sessions/s1/log")).TextAsync());
        // The size the detail gives is the stored one, framing included, and says so: not the 8 bytes a GET returns.
        long stored = await server.Persistence.SessionLogSizeAsync("s1", Ct);
        Assert.True(stored > 8);
        Assert.Contains($"takes {stored} bytes as stored (the store's framing included", problem.Str("detail"), StringComparison.Ordinal);
        Assert.Contains("appending 3 bytes of text", problem.Str("detail"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BelowTheFreeDiskFloor_WritesAre507_ReadsAndDeletesStillWork()
    {
        await using var server = new StateServerFactory((Q + "MinFreeDiskBytes", (long.MaxValue / 2).ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("StatePersistence:HealthCheck:LowDiskSpaceBytes", long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("StatePersistence:Server:HealthDetailsWithoutKey", "true"));
        using HttpClient client = server.Client();

        JsonElement problem = await (await client.PostJsonAsync("/api/tasks", """{"id":"t1","description":"d"}""")).ExpectProblemAsync(HttpStatusCode.InsufficientStorage);
        await (await client.PostAsync("/api/state/save", null, Ct)).ExpectProblemAsync(HttpStatusCode.InsufficientStorage);
        HttpResponseMessage list = await client.GetUrlAsync("/api/tasks");
        HttpResponseMessage delete = await client.DeleteUrlAsync("/api/tasks/t9");
        JsonElement health = await (await client.GetUrlAsync("/health")).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal(Q + "MinFreeDiskBytes", problem.Str("limit"));
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, delete.StatusCode);
        Assert.True(health.GetProperty("quotas").GetProperty("writes_refused").GetBoolean());
        Assert.Equal("Degraded", health.Str("status")); // the floor must sit below the health warning, or the start is refused
        Assert.Empty(await server.Persistence.LoadTasksAsync(Ct));
    }

    [Fact]
    public async Task QuotaState_ShowsInHealthAndMetrics()
    {
        await using var server = new StateServerFactory((Q + "MaxTasks", "7"), ("StatePersistence:Server:HealthDetailsWithoutKey", "true"));
        using HttpClient client = server.Client();
        await client.PostJsonAsync("/api/tasks", """{"id":"t1","description":"d"}""");

        JsonElement quotas = (await (await client.GetUrlAsync("/health")).ExpectAsync(HttpStatusCode.OK)).GetProperty("quotas");
        string metrics = await (await client.GetUrlAsync("/metrics")).TextAsync();

        Assert.Equal(7, quotas.GetProperty("max_tasks").GetInt64());
        Assert.Equal(1, quotas.GetProperty("tasks").GetInt64());
        Assert.Contains("statepersistence_quota_limit{quota=\"tasks\"} 7", metrics, StringComparison.Ordinal);
        Assert.Contains("statepersistence_quota_usage{quota=\"tasks\"} 1", metrics, StringComparison.Ordinal);
    }
}
