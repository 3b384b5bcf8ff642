using System.Net;
using System.Text;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>One rule per field, the same on every route: each refusal is a 400 naming the field, and stores nothing.</summary>
public sealed class ValidationTests : ServerRouteTests
{
    [Theory]
    [InlineData("""{"descripton":"d"}""", "description")]
    [InlineData("""{"description":"  "}""", "description")]
    [InlineData("""{"description":"d","status":"done"}""", "status")]
    [InlineData("""{"description":"d","tool":""}""", "tool")]
    [InlineData("""{"description":"d","created_at":"10:00"}""", "created_at")]
    [InlineData("""{"description":"d","started_at":"1/2/2024"}""", "started_at")]
    [InlineData("""{"description":"d","completed_at":12}""", "completed_at")]
    [InlineData("""{"description":"d","logs":[{"level":"info","type":"system"}]}""", "logs[0].message")]
    [InlineData("""{"description":"d","logs":[null]}""", "logs[0]")]
    [InlineData("""{"description":"d","logs":[{"level":"info","type":"t","message":"m","timestamp":"yesterday"}]}""", "logs[0].timestamp")]
    public async Task Put_ValidatesTheFieldsItKnows_AsPostDoes(string body, string field)
    {
        JsonElement problem = await (await Client.PutJsonAsync("/api/tasks/task_1", body)).ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(field, problem.Str("field"));
        Assert.False(string.IsNullOrEmpty(problem.Str("detail")));
        Assert.Empty(await Server.Persistence.LoadTasksAsync(Ct));
    }

    /// <summary>
    /// A timestamp written as ISO-8601 but naming no time that can be stored is refused saying so, not "expected an
    /// ISO-8601 timestamp" (which it is): a day that does not exist, or a time past year 9999 once its offset applies.
    /// </summary>
    [Theory]
    [InlineData("9999-12-31T23:00:00-05:00")]
    [InlineData("2024-02-30T10:00:00Z")]
    [InlineData("10000-01-01T00:00:00Z")]
    public async Task Put_AnIsoTimestampNamingNoStorableTime_IsRefusedSayingSo(string timestamp)
    {
        JsonElement problem = await (await Client.PutJsonAsync("/api/tasks/task_1", $$"""{"description":"d","created_at":"{{timestamp}}"}"""))
            .ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal("created_at", problem.Str("field"));
        Assert.Contains($"\"{timestamp}\" is written as an ISO-8601 timestamp but names no time that can be stored", problem.Str("detail"), StringComparison.Ordinal);
        Assert.Contains("9999-12-31T23:59:59Z", problem.Str("detail"), StringComparison.Ordinal);
        Assert.Empty(await Server.Persistence.LoadTasksAsync(Ct));
    }

    /// <summary>
    /// A log entry without a timestamp in a whole task is stored as given, not dated to the PUT: a GET, edit, PUT of a
    /// task the Node server wrote gives its entries back unchanged.
    /// </summary>
    [Fact]
    public async Task Put_ALogEntryWithoutATimestamp_IsStoredAsGiven()
    {
        JsonElement task = await (await Client.PutJsonAsync("/api/tasks/task_1",
            """{"description":"d","logs":[{"level":"info","type":"system","message":"from the Node server"}]}""")).ExpectAsync(HttpStatusCode.Created);

        JsonElement entry = task.GetProperty("logs")[0];
        Assert.False(entry.TryGetProperty("timestamp", out _));
        Assert.Equal("from the Node server", entry.Str("message"));
        Assert.Null((await Server.Persistence.LoadTaskAsync("task_1", Ct))!.Logs![0].Timestamp);
    }

    /// <summary>A body nested past the 64 levels the server reads is refused saying how deep it went, not as JSON "not valid" at a byte.</summary>
    [Fact]
    public async Task Put_ABodyNestedPast64Levels_IsRefusedNamingTheDepth()
    {
        string deep = new string('[', 70) + new string(']', 70);

        JsonElement problem = await (await Client.PutJsonAsync("/api/tasks/task_1", $$"""{"description":"d","my_field":{{deep}}}"""))
            .ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal("The request body nests objects and arrays 71 levels deep; this server reads at most 64.", problem.Str("detail"));
        Assert.Empty(await Server.Persistence.LoadTasksAsync(Ct));
    }

    [Fact]
    public async Task Put_StoresApplicationFieldsAsGiven_AndANullIdMeansTheRoutes()
    {
        JsonElement task = await (await Client.PutJsonAsync("/api/tasks/task_1",
            """{"id":null,"description":"d","created_at":"2024-01-01T09:00:00+01:00","my_field":{"x":[1,2]}}""")).ExpectAsync(HttpStatusCode.Created);

        Assert.Equal("task_1", task.Str("id"));
        Assert.Equal("2024-01-01T08:00:00Z", task.Str("created_at"));
        Assert.Equal("""{"x":[1,2]}""", task.GetProperty("my_field").GetRawText());
    }

    [Theory]
    [InlineData("null")]
    [InlineData("\"7\"")]
    [InlineData("123456")]
    [InlineData("{\"x\":[1]}")]
    public async Task Put_IgnoresARevisionInTheBody_WhateverItsValue(string revision)
    {
        JsonElement created = await (await Client.PutJsonAsync("/api/tasks/task_1",
            $$"""{"revision":{{revision}},"description":"d"}""")).ExpectAsync(HttpStatusCode.Created);
        JsonElement replaced = await (await Client.PutJsonAsync("/api/tasks/task_1",
            $$"""{"description":"e","revision":{{revision}}}""")).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal((await Server.Persistence.LoadTaskAsync("task_1", Ct))!.Revision, replaced.GetProperty("revision").GetInt64());
        Assert.True(replaced.GetProperty("revision").GetInt64() > created.GetProperty("revision").GetInt64());
        Assert.Equal(1, CountOf(await (await Client.GetUrlAsync("/api/tasks/task_1")).TextAsync(), "\"revision\""));
    }

    [Theory]
    [InlineData("PUT", "/api/tasks/task_1", """{"description":"x","id":""}""")]
    [InlineData("POST", "/api/tasks", """{"description":"x","id":""}""")]
    public async Task AnEmptyId_Is400NamingIt_OnEveryRoute(string method, string url, string body)
    {
        await (await Client.PutJsonAsync("/api/tasks/task_1", """{"description":"d"}""")).ExpectAsync(HttpStatusCode.Created);

        HttpResponseMessage refused = await Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), url) { Content = Json(body) }, Ct);

        JsonElement problem = await refused.ExpectProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal("id", problem.Str("field"));
        Assert.Contains("empty", problem.Str("detail"), StringComparison.Ordinal);
        Assert.Equal("d", Assert.Single(await Server.Persistence.LoadTasksAsync(Ct)).Description);
    }

    [Theory]
    [InlineData("PATCH", "/api/tasks/task_1", "application/json; charset=\"utf-8\"", """{"description":"e"}""")]
    [InlineData("PATCH", "/api/tasks/task_1", "application/json; charset=\"UTF-8\"", """{"description":"e"}""")]
    [InlineData("POST", "/api/sessions/s1/log", "text/plain; charset=\"utf-8\"", "line\n")]
    [InlineData("POST", "/api/sessions/s1/log", "text/plain; CHARSET=\"Utf-8\"", "line\n")]
    public async Task AQuotedUtf8Charset_IsUtf8(string method, string url, string contentType, string body)
    {
        await (await Client.PutJsonAsync("/api/tasks/task_1", """{"description":"d"}""")).ExpectAsync(HttpStatusCode.Created);
        await (await Client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"i","status":"active"}""")).ExpectAsync(HttpStatusCode.Created);
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);

        HttpResponseMessage answer = await Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), url) { Content = content }, Ct);

        Assert.True(answer.IsSuccessStatusCode, $"{(int)answer.StatusCode}: {await answer.TextAsync()}");
    }

    [Fact]
    public async Task AQuotedCharsetOtherThanUtf8_IsStill415()
    {
        var content = new ByteArrayContent("""{"description":"d"}"""u8.ToArray());
        content.Headers.TryAddWithoutValidation("Content-Type", "application/json; charset=\"latin1\"");

        HttpResponseMessage answer = await Client.PutAsync("/api/tasks/task_1", content, Ct);

        await answer.ExpectProblemAsync(HttpStatusCode.UnsupportedMediaType);
    }

    private static int CountOf(string text, string part) => (text.Length - text.Replace(part, "", StringComparison.Ordinal).Length) / part.Length;

    [Theory]
    [InlineData("PUT", "/api/tasks/task_1", """{"description":"d","result":"\ud800"}""")]
    [InlineData("PUT", "/api/tasks/task_1", """{"description":"d","app":{"k":"a\udc00b"}}""")]
    [InlineData("PUT", "/api/tasks/task_1", """{"description":"d","\ud800":1}""")]
    [InlineData("POST", "/api/reports", """{"id":"r1","type":"t","data":["\ud800"]}""")]
    [InlineData("PATCH", "/api/tasks/task_0", """{"result":{"a":"\udfff"}}""")]
    public async Task LoneSurrogates_InFreeFormJson_Are400(string method, string url, string body)
    {
        await Client.PostJsonAsync("/api/tasks", """{"id":"task_0","description":"d"}""");
        var request = new HttpRequestMessage(new HttpMethod(method), url) { Content = Json(body) };

        await (await Client.SendAsync(request, Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Single(await Server.Persistence.LoadTasksAsync(Ct));
        Assert.Null((await Server.Persistence.LoadTaskAsync("task_0", Ct))!.Result);
        Assert.Empty(await Server.Persistence.ListReportsAsync(Ct));
    }

    [Theory]
    [InlineData("POST", "/api/tasks", """{"id":"task_1","description":"a\u0000b"}""", "description")]
    [InlineData("PUT", "/api/tasks/task_1", """{"description":"d","result":{"out":"x\u0000"}}""", "out")]
    [InlineData("PATCH", "/api/tasks/task_0", """{"description":"\u0000"}""", "description")]
    [InlineData("POST", "/api/reports", """{"id":"r1","type":"t","data":{"k":"\u0000"}}""", "k")]
    public async Task TheNulCharacter_AnywhereInABody_Is400NamingWhereItIs_OnEveryStore(string method, string url, string body, string field)
    {
        // PostgreSQL's jsonb cannot hold it: refused alike on every store, so what the file store accepts PostgreSQL does too.
        await Client.PostJsonAsync("/api/tasks", """{"id":"task_0","description":"d"}""");
        var request = new HttpRequestMessage(new HttpMethod(method), url) { Content = Json(body) };

        JsonElement problem = await (await Client.SendAsync(request, Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Contains("NUL", problem.Str("detail"), StringComparison.Ordinal);
        Assert.Equal(field, problem.Str("field"));
        Assert.Equal("d", Assert.Single(await Server.Persistence.LoadTasksAsync(Ct)).Description);
        Assert.Empty(await Server.Persistence.ListReportsAsync(Ct));
    }

    [Fact]
    public async Task InvalidUtf8_InFreeFormJson_Is400_NotReplaced()
    {
        byte[] body = [.. """{"id":"r1","type":"t","data":"a"""u8, 0xC3, 0x28, .. "\"}"u8];
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new("application/json");

        await (await Client.PostAsync("/api/reports", content, Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Empty(await Server.Persistence.ListReportsAsync(Ct));
    }

    [Fact]
    public async Task Patch_ABlankDescription_Is400()
    {
        await Client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d"}""");

        JsonElement problem = await (await Client.PatchJsonAsync("/api/tasks/task_1", """{"description":" "}""")).ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal("description", problem.Str("field"));
        Assert.Equal("d", (await Server.Persistence.LoadTaskAsync("task_1", Ct))!.Description);
    }

    [Theory]
    [InlineData("""{"type":"interactive","status":"still going!"}""", "status")]
    [InlineData("""{"type":"interactive","status":""}""", "status")]
    [InlineData("""{"type":"a b","status":"active"}""", "type")]
    public async Task Sessions_StatusAndTypeAreTokens(string body, string field)
    {
        JsonElement problem = await (await Client.PostJsonAsync("/api/sessions", body)).ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(field, problem.Str("field"));
        Assert.Empty(await Server.Persistence.LoadSessionsAsync(Ct));
    }

    [Fact]
    public async Task SessionPatch_AStatusOutsideTheRule_Is400()
    {
        await Client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"interactive","status":"active"}""");
        string longStatus = new('a', 65);

        await (await Client.PatchJsonAsync("/api/sessions/s1", $$"""{"status":"{{longStatus}}"}""")).ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal("active", (await Server.Persistence.LoadSessionAsync("s1", Ct))!.Status);
    }

    [Theory]
    [InlineData("GET", "/api/nothing-here", HttpStatusCode.NotFound)]
    [InlineData("DELETE", "/api/sessions", HttpStatusCode.MethodNotAllowed)]
    [InlineData("PUT", "/api/reports", HttpStatusCode.MethodNotAllowed)]
    [InlineData("POST", "/api/tasks/task_1", HttpStatusCode.MethodNotAllowed)]
    public async Task EveryError_404And405Included_HasADetail(string method, string url, HttpStatusCode status)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), url) { Content = Json("{}") };

        JsonElement problem = await (await Client.SendAsync(request, Ct)).ExpectProblemAsync(status);

        Assert.Contains(url, problem.Str("detail"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TaskLog_ABlankMessage_Is400()
    {
        await Client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d"}""");

        JsonElement problem = await (await Client.PostJsonAsync("/api/tasks/task_1/logs", """{"level":"info","type":"t","message":" "}"""))
            .ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal("message", problem.Str("field"));
        Assert.Empty((await Server.Persistence.LoadTaskAsync("task_1", Ct))!.Logs);
    }

    [Fact]
    public async Task ABodyDeclaredUtf8ButSentAsLatin1_Is400()
    {
        var content = new ByteArrayContent(Encoding.Latin1.GetBytes("""{"description":"café"}"""));
        content.Headers.ContentType = new("application/json");

        await (await Client.PostAsync("/api/tasks", content, Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest);
    }
}
