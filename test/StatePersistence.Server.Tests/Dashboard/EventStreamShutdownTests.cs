using System.Net;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Dashboard;

/// <summary><c>GET /api/events</c> when the persistence service is shut down under it.</summary>
public sealed class EventStreamShutdownTests
{
    [Fact]
    public async Task AnOpenStream_EndsAfterTheShutdownsOwnEvents_WhenTheServiceIsDisposed()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        await using SseReader events = await SseReader.OpenAsync(client);
        await client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d"}""");

        await server.Persistence.DisposeAsync();
        List<SseReader.Event> seen = await events.ReadToEndAsync();

        Assert.Equal(["task:created", "state:saved"], seen.Select(e => e.Type));
        Assert.DoesNotContain(server.Logs.Entries, e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Error);
    }

    [Fact]
    public async Task ANewStream_OnAServiceShutDown_IsRefusedWith503()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        await server.Persistence.DisposeAsync();

        using HttpResponseMessage response = await client.GetAsync("/api/events", HttpCompletionOption.ResponseHeadersRead, Ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
