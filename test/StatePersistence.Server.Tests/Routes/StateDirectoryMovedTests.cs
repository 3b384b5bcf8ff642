using System.Net;
using System.Text.Json;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>
/// Tried as a new user would: with the server running, the state directory is deleted. A write must not be answered
/// 201 into a journal file nothing will ever read again.
/// </summary>
public sealed class StateDirectoryMovedTests : IAsyncDisposable
{
    private readonly StateServerFactory _server = new(("StatePersistence:SnapshotOnShutdown", "false"));
    private readonly HttpClient _client;

    public StateDirectoryMovedTests() => _client = _server.Client();

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task PostTask_AfterStateDirectoryWasDeleted_Answers503AndSaysWhatHappened()
    {
        await (await _client.PostJsonAsync("/api/tasks", """{"id":"t1","description":"first"}""")).ExpectAsync(HttpStatusCode.Created);

        Directory.Delete(_server.StatePath, recursive: true);

        JsonElement problem = await (await _client.PostJsonAsync("/api/tasks", """{"id":"t2","description":"second"}""")).ExpectAsync(HttpStatusCode.ServiceUnavailable);
        Assert.Contains("deleted, moved or replaced", problem.Str("detail"), StringComparison.Ordinal);
        Assert.DoesNotContain(_server.StatePath, problem.Str("detail"), StringComparison.Ordinal);
        await (await _client.GetUrlAsync("/health")).ExpectAsync(HttpStatusCode.ServiceUnavailable);
    }
}
