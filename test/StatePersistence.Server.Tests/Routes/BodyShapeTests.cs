using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>
/// A JSON body that is not an object, or that starts with a byte-order mark, is a 400 that says so. It got "not valid
/// JSON for this route (line 1, byte 2)", which names a position, not the problem: <c>[]</c> is valid JSON.
/// </summary>
public sealed class BodyShapeTests : ServerRouteTests
{
    [Theory]
    [InlineData("[]", "a JSON array")]
    [InlineData("""[{"id":"t1","description":"x"}]""", "a JSON array")]
    [InlineData("\"t1\"", "a JSON string")]
    [InlineData("5", "a JSON number")]
    [InlineData("true", "a JSON boolean")]
    public async Task ABodyThatIsNotAnObject_IsNamed(string body, string what)
    {
        JsonElement problem = await (await Client.PostJsonAsync("/api/tasks", body)).ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal($"The request body is {what}; this route expects a JSON object.", problem.Str("detail"));
        Assert.Equal(0, Server.Persistence.Revision);
    }

    [Fact]
    public async Task AByteOrderMark_IsNamed()
    {
        var content = new ByteArrayContent([0xEF, 0xBB, 0xBF, .. """{"id":"t1","description":"x"}"""u8]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        JsonElement problem = await (await Client.PutAsync("/api/tasks/t1", content, Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Contains("byte-order mark", problem.Str("detail"), StringComparison.Ordinal);
        Assert.Null(await Server.Persistence.LoadTaskAsync("t1", Ct));
    }
}
