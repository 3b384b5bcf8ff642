using System.Net;
using System.Text;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>
/// A <c>PATCH</c> sent as <c>application/merge-patch+json</c> follows RFC 7396: null removes a member, an object merges
/// into the one it names. It was applied as this server's own <c>application/json</c> patch: <c>{"result":null}</c>
/// answered 200 and removed nothing, an object replaced <c>result</c> whole, and a session's <c>task_id</c> could not
/// be cleared by any request. A plain <c>application/json</c> body keeps its documented meaning.
/// </summary>
public sealed class MergePatchTests : ServerRouteTests
{
    public override async ValueTask InitializeAsync()
    {
        await (await Client.PostJsonAsync("/api/tasks", """{"id":"t1","description":"first"}""")).ExpectAsync(HttpStatusCode.Created);
        await (await Client.PatchJsonAsync("/api/tasks/t1", """{"result":{"files":["a"],"tests":{"passed":3,"failed":1}}}"""))
            .ExpectAsync(HttpStatusCode.OK);
        await (await Client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"i","status":"active","task_id":"t1"}"""))
            .ExpectAsync(HttpStatusCode.Created);
    }

    [Fact]
    public async Task Null_RemovesATasksResult()
    {
        JsonElement task = await (await MergeAsync("/api/tasks/t1", """{"result":null}""")).ExpectAsync(HttpStatusCode.OK);

        Assert.False(task.Has("result"));
        Assert.Null((await Server.Persistence.LoadTaskAsync("t1", Ct))!.Result);
    }

    [Fact]
    public async Task AnObject_MergesIntoTheResult_MemberByMember()
    {
        await (await MergeAsync("/api/tasks/t1", """{"result":{"tests":{"failed":null,"skipped":2},"done":true}}"""))
            .ExpectAsync(HttpStatusCode.OK);

        JsonElement result = (await Server.Persistence.LoadTaskAsync("t1", Ct))!.Result!.Value;
        Assert.Equal("""{"files":["a"],"tests":{"passed":3,"skipped":2},"done":true}""", result.GetRawText());
    }

    [Fact]
    public async Task Null_RemovesASessionsTaskId()
    {
        JsonElement session = await (await MergeAsync("/api/sessions/s1", """{"task_id":null}""")).ExpectAsync(HttpStatusCode.OK);

        Assert.False(session.Has("task_id"));
        Assert.Null((await Server.Persistence.LoadSessionAsync("s1", Ct))!.TaskId);
    }

    [Theory]
    [InlineData("/api/tasks/t1", "description")]
    [InlineData("/api/tasks/t1", "status")]
    [InlineData("/api/sessions/s1", "type")]
    [InlineData("/api/sessions/s1", "status")]
    public async Task Null_OnAFieldTheItemCannotBeWithout_Is400_NamingIt_AndChangesNothing(string url, string field)
    {
        long revision = Server.Persistence.Revision;

        JsonElement problem = await (await MergeAsync(url, $$"""{"{{field}}":null}""")).ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(field, problem.Str("field"));
        Assert.Equal(revision, Server.Persistence.Revision);
    }

    [Fact]
    public async Task AsApplicationJson_NullStillLeavesTheFieldAndAnObjectReplacesTheResult()
    {
        await (await Client.PatchJsonAsync("/api/sessions/s1", """{"task_id":null}""")).ExpectAsync(HttpStatusCode.OK);
        await (await Client.PatchJsonAsync("/api/tasks/t1", """{"description":null,"result":{"done":true}}""")).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal("t1", (await Server.Persistence.LoadSessionAsync("s1", Ct))!.TaskId);
        Assert.Equal("""{"done":true}""", (await Server.Persistence.LoadTaskAsync("t1", Ct))!.Result!.Value.GetRawText());
    }

    private Task<HttpResponseMessage> MergeAsync(string url, string body) =>
        Client.PatchAsync(url, new StringContent(body, Encoding.UTF8, "application/merge-patch+json"), Ct);
}
