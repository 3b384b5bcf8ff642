using System.Net;
using System.Text;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>
/// The patch formats a <c>PATCH</c> route reads (RFC 5789). JSON Patch (<c>application/json-patch+json</c>) passed the
/// JSON routes' <c>+json</c> check: an object sent under it was applied as this server's own patch, an array of
/// operations got "not valid JSON". Both are a 415 naming the format, with <c>Accept-Patch</c>, and change nothing.
/// </summary>
public sealed class PatchMediaTypeTests : ServerRouteTests
{
    public override async ValueTask InitializeAsync()
    {
        await (await Client.PostJsonAsync("/api/tasks", """{"id":"t1","description":"first"}""")).ExpectAsync(HttpStatusCode.Created);
        await (await Client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"i","status":"first"}""")).ExpectAsync(HttpStatusCode.Created);
    }

    [Theory]
    [InlineData("/api/tasks/t1", """{"description":"second"}""")]
    [InlineData("/api/tasks/t1", """[{"op":"replace","path":"/description","value":"second"}]""")]
    [InlineData("/api/sessions/s1", """{"status":"second"}""")]
    [InlineData("/api/sessions/s1", """[{"op":"replace","path":"/status","value":"second"}]""")]
    public async Task JsonPatch_Is415_WithAcceptPatch_AndChangesNothing(string url, string body)
    {
        long revision = Server.Persistence.Revision;
        var content = new StringContent(body, Encoding.UTF8, "application/json-patch+json");

        HttpResponseMessage refused = await Client.PatchAsync(url, content, Ct);

        JsonElement problem = await refused.ExpectProblemAsync(HttpStatusCode.UnsupportedMediaType);
        Assert.Equal("Content-Type", problem.Str("field"));
        Assert.Contains("JSON Patch", problem.Str("detail"), StringComparison.Ordinal);
        Assert.Equal("application/json, application/merge-patch+json", refused.Headers.GetValues("Accept-Patch").Single());
        Assert.Equal(revision, Server.Persistence.Revision);
        Assert.Equal("first", (await Server.Persistence.LoadTaskAsync("t1", Ct))!.Description);
        Assert.Equal("first", (await Server.Persistence.LoadSessionAsync("s1", Ct))!.Status);
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/merge-patch+json")]
    public async Task AJsonObject_AsJsonOrMergePatch_IsApplied(string mediaType)
    {
        var content = new StringContent("""{"description":"second"}""", Encoding.UTF8, mediaType);

        HttpResponseMessage patched = await Client.PatchAsync("/api/tasks/t1", content, Ct);

        await patched.ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("second", (await Server.Persistence.LoadTaskAsync("t1", Ct))!.Description);
    }
}
