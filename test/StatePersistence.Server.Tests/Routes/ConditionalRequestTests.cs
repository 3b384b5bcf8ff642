using System.Net;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>Issue 13 item 6: ETags on every task and session response, and conditional writes answered 412 when unmet.</summary>
public sealed class ConditionalRequestTests
{
    [Fact]
    public async Task EveryTaskAndSessionResponse_CarriesItsRevisionAsAStrongETag()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();

        HttpResponseMessage created = await client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d"}""");
        JsonElement createdBody = await created.ExpectAsync(HttpStatusCode.Created);
        HttpResponseMessage read = await client.GetUrlAsync("/api/tasks/task_1");
        HttpResponseMessage patched = await client.PatchJsonAsync("/api/tasks/task_1", """{"status":"in_progress"}""");
        JsonElement patchedBody = await patched.ExpectAsync(HttpStatusCode.OK);
        HttpResponseMessage replaced = await client.PutJsonAsync("/api/tasks/task_1", """{"description":"e"}""");
        HttpResponseMessage put = await client.PutJsonAsync("/api/tasks/task_2", """{"description":"e"}""");
        HttpResponseMessage logged = await client.PostJsonAsync("/api/tasks/task_1/logs", """{"level":"info","type":"t","message":"m"}""");
        HttpResponseMessage session = await client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"i","status":"active"}""");
        HttpResponseMessage sessionRead = await client.GetUrlAsync("/api/sessions/s1");
        HttpResponseMessage sessionPatched = await client.PatchJsonAsync("/api/sessions/s1", """{"status":"done"}""");
        HttpResponseMessage list = await client.GetUrlAsync("/api/tasks");

        Assert.Equal(Tag(createdBody.GetProperty("revision").GetInt64()), created.Headers.ETag?.ToString());
        Assert.Equal(created.Headers.ETag, read.Headers.ETag);
        Assert.False(read.Headers.ETag!.IsWeak);
        Assert.Equal(Tag(patchedBody.GetProperty("revision").GetInt64()), patched.Headers.ETag?.ToString());
        Assert.Equal(Tag((await replaced.ExpectAsync(HttpStatusCode.OK)).GetProperty("revision").GetInt64()), replaced.Headers.ETag?.ToString());
        Assert.Equal(Tag((await put.ExpectAsync(HttpStatusCode.Created)).GetProperty("revision").GetInt64()), put.Headers.ETag?.ToString());
        await logged.ExpectAsync(HttpStatusCode.Created);
        Assert.Equal(Tag(await RevisionAsync(client, "/api/tasks/task_1")), logged.Headers.ETag?.ToString());
        Assert.Equal(Tag((await session.ExpectAsync(HttpStatusCode.Created)).GetProperty("revision").GetInt64()), session.Headers.ETag?.ToString());
        Assert.Equal(session.Headers.ETag, sessionRead.Headers.ETag);
        Assert.Equal(Tag((await sessionPatched.ExpectAsync(HttpStatusCode.OK)).GetProperty("revision").GetInt64()), sessionPatched.Headers.ETag?.ToString());
        Assert.Null(list.Headers.ETag);
    }

    [Theory]
    [InlineData("PUT")]
    [InlineData("PATCH")]
    [InlineData("DELETE")]
    public async Task TaskWrite_WithAStaleIfMatch_Is412_WithTheCurrentTask_AndChangesNothing(string method)
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        HttpResponseMessage created = await client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"first"}""");
        string stale = created.Headers.ETag!.ToString();
        HttpResponseMessage changed = await client.PatchJsonAsync("/api/tasks/task_1", """{"description":"second"}""");
        string current = changed.Headers.ETag!.ToString();

        HttpResponseMessage refused = await client.SendAsync(Conditional(method, "/api/tasks/task_1", "If-Match", stale,
            method == "DELETE" ? null : method == "PUT" ? """{"description":"third"}""" : """{"description":"third"}"""), Ct);

        JsonElement problem = await refused.ExpectProblemAsync(HttpStatusCode.PreconditionFailed);
        Assert.Equal(current, refused.Headers.ETag?.ToString());
        Assert.Equal("second", problem.GetProperty("current").Str("description"));
        Assert.Equal(Tag(problem.GetProperty("current_revision").GetInt64()), current);
        Assert.Contains(stale, problem.Str("detail"), StringComparison.Ordinal);
        JsonElement stored = await (await client.GetUrlAsync("/api/tasks/task_1")).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("second", stored.Str("description"));
        Assert.Equal(current, Tag(stored.GetProperty("revision").GetInt64()));

        // The current ETag is accepted.
        HttpResponseMessage accepted = await client.SendAsync(Conditional(method, "/api/tasks/task_1", "If-Match", current,
            method == "DELETE" ? null : """{"description":"third"}"""), Ct);
        Assert.Equal(method == "DELETE" ? HttpStatusCode.NoContent : HttpStatusCode.OK, accepted.StatusCode);
    }

    [Fact]
    public async Task SessionPatch_WithAStaleIfMatch_Is412_WithTheCurrentSession()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        string stale = (await client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"i","status":"active"}""")).Headers.ETag!.ToString();
        string current = (await client.PatchJsonAsync("/api/sessions/s1", """{"status":"paused"}""")).Headers.ETag!.ToString();

        HttpResponseMessage refused = await client.SendAsync(Conditional("PATCH", "/api/sessions/s1", "If-Match", stale, """{"status":"done"}"""), Ct);
        HttpResponseMessage accepted = await client.SendAsync(Conditional("PATCH", "/api/sessions/s1", "If-Match", current, """{"status":"done"}"""), Ct);

        JsonElement problem = await refused.ExpectProblemAsync(HttpStatusCode.PreconditionFailed);
        Assert.Equal("paused", problem.GetProperty("current").Str("status"));
        Assert.Equal(current, refused.Headers.ETag?.ToString());
        Assert.Equal("done", (await accepted.ExpectAsync(HttpStatusCode.OK)).Str("status"));
    }

    [Theory]
    [InlineData("PUT")]
    [InlineData("PATCH")]
    [InlineData("DELETE")]
    public async Task IfMatch_OnAMissingTask_Is412_AndCreatesNothing(string method)
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();

        foreach (string tag in new[] { "\"1\"", "*" })
        {
            HttpResponseMessage refused = await client.SendAsync(Conditional(method, "/api/tasks/task_9", "If-Match", tag,
                method == "DELETE" ? null : """{"description":"d"}"""), Ct);

            JsonElement problem = await refused.ExpectProblemAsync(HttpStatusCode.PreconditionFailed);
            Assert.Equal(JsonValueKind.Null, problem.GetProperty("current").ValueKind);
            Assert.Null(refused.Headers.ETag);
        }

        await (await client.GetUrlAsync("/api/tasks/task_9")).ExpectProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task IfMatchStar_OnAnExistingTask_Replaces()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        await client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"first"}""");

        HttpResponseMessage replaced = await client.SendAsync(Conditional("PUT", "/api/tasks/task_1", "If-Match", "*", """{"description":"second"}"""), Ct);

        Assert.Equal("second", (await replaced.ExpectAsync(HttpStatusCode.OK)).Str("description"));
    }

    [Fact]
    public async Task PutWithIfNoneMatchStar_CreatesOnly()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();

        HttpResponseMessage created = await client.SendAsync(Conditional("PUT", "/api/tasks/task_1", "If-None-Match", "*", """{"description":"first"}"""), Ct);
        HttpResponseMessage again = await client.SendAsync(Conditional("PUT", "/api/tasks/task_1", "If-None-Match", "*", """{"description":"second"}"""), Ct);

        Assert.Equal("first", (await created.ExpectAsync(HttpStatusCode.Created)).Str("description"));
        JsonElement problem = await again.ExpectProblemAsync(HttpStatusCode.PreconditionFailed);
        Assert.Equal("first", problem.GetProperty("current").Str("description"));
        Assert.Equal(created.Headers.ETag, again.Headers.ETag);
        Assert.Equal("first", (await (await client.GetUrlAsync("/api/tasks/task_1")).ExpectAsync(HttpStatusCode.OK)).Str("description"));
    }

    [Fact]
    public async Task ConcurrentConditionalPatches_FromTwoClients_ExactlyOneWins()
    {
        await using var server = new StateServerFactory();
        using HttpClient first = server.Client();
        using HttpClient second = server.Client();
        for (int round = 0; round < 20; round++)
        {
            string id = $"task_{round}";
            string tag = (await first.PostJsonAsync("/api/tasks", $$"""{"id":"{{id}}","description":"d"}""")).Headers.ETag!.ToString();

            HttpResponseMessage[] answers = await Task.WhenAll(
                first.SendAsync(Conditional("PATCH", "/api/tasks/" + id, "If-Match", tag, """{"description":"first"}"""), Ct),
                second.SendAsync(Conditional("PATCH", "/api/tasks/" + id, "If-Match", tag, """{"description":"second"}"""), Ct));

            HttpResponseMessage winner = Assert.Single(answers, a => a.StatusCode == HttpStatusCode.OK);
            HttpResponseMessage loser = Assert.Single(answers, a => a.StatusCode == HttpStatusCode.PreconditionFailed);
            string won = (await winner.JsonAsync()).Str("description");
            Assert.Equal(won, (await loser.JsonAsync()).GetProperty("current").Str("description"));
            Assert.Equal(won, (await (await first.GetUrlAsync("/api/tasks/" + id)).JsonAsync()).Str("description"));
        }
    }

    [Fact]
    public async Task TaskLogAppend_WithIfMatch_AppendsOnlyAtThatRevision()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        string tag = (await client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d"}""")).Headers.ETag!.ToString();
        const string Entry = """{"level":"info","type":"t","message":"m"}""";

        HttpResponseMessage appended = await client.SendAsync(Conditional("POST", "/api/tasks/task_1/logs", "If-Match", tag, Entry), Ct);
        HttpResponseMessage stale = await client.SendAsync(Conditional("POST", "/api/tasks/task_1/logs", "If-Match", tag, Entry), Ct);

        await appended.ExpectAsync(HttpStatusCode.Created);
        JsonElement problem = await stale.ExpectProblemAsync(HttpStatusCode.PreconditionFailed);
        Assert.Equal(appended.Headers.ETag, stale.Headers.ETag);
        Assert.Equal(1, problem.GetProperty("current").GetProperty("logs").GetArrayLength());
        Assert.Equal(1, (await (await client.GetUrlAsync("/api/tasks/task_1")).JsonAsync()).GetProperty("logs").GetArrayLength());
    }

    [Theory]
    [InlineData("PATCH", "If-Match", "7")]
    [InlineData("PATCH", "If-Match", "\"7")]
    [InlineData("PATCH", "If-Match", "\"5\", \"7\"")]
    [InlineData("DELETE", "If-None-Match", "*")]
    [InlineData("PUT", "If-None-Match", "\"7\"")]
    public async Task MalformedOrUnsupportedConditions_Are400_NamingTheHeader_AndChangeNothing(string method, string header, string value)
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        string before = (await client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d"}""")).Headers.ETag!.ToString();

        HttpResponseMessage refused = await client.SendAsync(Conditional(method, "/api/tasks/task_1", header, value,
            method == "DELETE" ? null : """{"description":"changed"}"""), Ct);

        Assert.Equal(header, (await refused.ExpectProblemAsync(HttpStatusCode.BadRequest)).Str("field"));
        HttpResponseMessage after = await client.GetUrlAsync("/api/tasks/task_1");
        Assert.Equal(before, after.Headers.ETag?.ToString());
        Assert.Equal("d", (await after.JsonAsync()).Str("description"));
    }

    [Fact]
    public async Task AWeakOrForeignTag_MatchesNoRevision()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        string tag = (await client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d"}""")).Headers.ETag!.ToString();

        HttpResponseMessage weak = await client.SendAsync(Conditional("PATCH", "/api/tasks/task_1", "If-Match", "W/" + tag, """{"description":"x"}"""), Ct);
        HttpResponseMessage foreign = await client.SendAsync(Conditional("DELETE", "/api/tasks/task_1", "If-Match", "\"abc\"", null), Ct);

        Assert.Equal("d", (await weak.ExpectProblemAsync(HttpStatusCode.PreconditionFailed)).GetProperty("current").Str("description"));
        await foreign.ExpectProblemAsync(HttpStatusCode.PreconditionFailed);
        Assert.Equal(tag, (await client.GetUrlAsync("/api/tasks/task_1")).Headers.ETag?.ToString());
    }

    [Fact]
    public async Task SessionLogAppend_RefusesAConditionRatherThanIgnoringIt()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        string tag = (await client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"i","status":"active"}""")).Headers.ETag!.ToString();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/sessions/s1/log") { Content = Text("line\n") };
        request.Headers.TryAddWithoutValidation("If-Match", tag);

        HttpResponseMessage refused = await client.SendAsync(request, Ct);

        Assert.Equal("If-Match", (await refused.ExpectProblemAsync(HttpStatusCode.BadRequest)).Str("field"));
        Assert.Equal("", await (await client.GetUrlAsync("/api/sessions/s1/log")).TextAsync());
    }

    private static string Tag(long revision) => $"\"{revision}\"";

    private static async Task<long> RevisionAsync(HttpClient client, string url) =>
        (await (await client.GetUrlAsync(url)).JsonAsync()).GetProperty("revision").GetInt64();
}
