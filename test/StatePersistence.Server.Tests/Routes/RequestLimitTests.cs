using System.Net;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>Bodies over <c>StatePersistence:Server:MaxRequestBodyBytes</c> get 413 and nothing is written.</summary>
public sealed class RequestLimitTests : IAsyncDisposable
{
    private readonly StateServerFactory _server = new(("StatePersistence:Server:MaxRequestBodyBytes", "1024"));
    private readonly HttpClient _client;

    public RequestLimitTests() => _client = _server.Client();

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task PostTask_OverTheLimit_Answers413AndWritesNothing()
    {
        string body = $$"""{"id":"task_1","description":"{{new string('x', 2000)}}"}""";

        JsonElement problem = await (await _client.PostJsonAsync("/api/tasks", body)).ExpectProblemAsync(HttpStatusCode.RequestEntityTooLarge);

        AssertNamesTheLimit(problem);
        Assert.Empty(await _server.Persistence.LoadTasksAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task PostTask_JustUnderTheLimit_IsAccepted()
    {
        string body = $$"""{"id":"task_1","description":"{{new string('x', 900)}}"}""";

        await (await _client.PostJsonAsync("/api/tasks", body)).ExpectAsync(HttpStatusCode.Created);
    }

    [Fact]
    public async Task ChunkedBodyOverTheLimit_Answers413()
    {
        // No Content-Length: the limit must hold while reading, not only by the header.
        var content = new StreamContent(new MemoryStream(new byte[5000]));
        content.Headers.ContentType = new("text/plain");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/sessions/s1/log") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        await _client.PostJsonAsync("/api/sessions", """{"id":"s1","type":"interactive","status":"active"}""");

        HttpResponseMessage response = await _client.SendAsync(request, Ct);

        AssertNamesTheLimit(await response.ExpectProblemAsync(HttpStatusCode.RequestEntityTooLarge));
        Assert.False(File.Exists(_server.File("logs", "session_s1.log")));
    }

    [Fact]
    public async Task PutAndPatchAndReportsOverTheLimit_Answer413()
    {
        string big = new('x', 2000);
        await (await _client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d"}""")).ExpectAsync(HttpStatusCode.Created);

        AssertNamesTheLimit(await (await _client.PutJsonAsync("/api/tasks/task_1", $$"""{"description":"{{big}}"}""")).ExpectProblemAsync(HttpStatusCode.RequestEntityTooLarge));
        AssertNamesTheLimit(await (await _client.PatchJsonAsync("/api/tasks/task_1", $$"""{"description":"{{big}}"}""")).ExpectProblemAsync(HttpStatusCode.RequestEntityTooLarge));
        AssertNamesTheLimit(await (await _client.PostJsonAsync("/api/reports", $$"""{"type":"t","data":"{{big}}"}""")).ExpectProblemAsync(HttpStatusCode.RequestEntityTooLarge));

        Assert.Equal("d", (await _server.Persistence.LoadTaskAsync("task_1", Ct))!.Description);
    }

    /// <summary>As the quota 413s and the 503s do: the setting to raise and its value, for a client to act on.</summary>
    private static void AssertNamesTheLimit(JsonElement problem)
    {
        Assert.Equal("StatePersistence:Server:MaxRequestBodyBytes", problem.Str("limit"));
        Assert.Equal(1024, problem.GetProperty("limit_value").GetInt64());
    }
}
