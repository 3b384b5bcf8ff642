using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StatePersistence.Server.Events;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Dashboard;

/// <summary>
/// An event stream client more than <see cref="EventHub.SubscriberCapacity"/> audit events behind has its stream ended,
/// as the README says; like a client dropped for a stalled write it is logged with its address and counted in
/// <c>statepersistence_event_stream_clients_dropped_total</c>. Before, its stream just ended: no line, no count, so an
/// operator could not tell why dashboards kept reconnecting.
/// </summary>
public sealed class EventStreamAuditLagTests
{
    [Fact]
    public async Task AClientTooFarBehindOnAudits_HasItsStreamEnded_LoggedAndCounted()
    {
        // A write timeout far beyond the test, so that the only way the stream can end is the audits' queue.
        await using var server = new StateServerFactory(("StatePersistence:Server:EventsWriteTimeout", "00:10:00"));
        using HttpClient client = server.Client();
        await using SseReader behind = await SseReader.OpenAsync(client);
        EventHub hub = server.Services.GetRequiredService<EventHub>();

        // The test server's response pipe holds 64 KiB (about 700 of these); then the queue's 4,096, then one more.
        for (int i = 0; i < 2 * EventHub.SubscriberCapacity; i++)
        {
            hub.Publish("audit", new AuditEventData("snapshot", "POST", "/api/state/save", 200), EventJsonContext.Default.AuditEventData);
        }

        // Reading again, the client gets what was queued for it, and then the end of its stream.
        List<SseReader.Event> received = await behind.ReadToEndAsync();

        Assert.InRange(received.Count, EventHub.SubscriberCapacity, (2 * EventHub.SubscriberCapacity) - 1);
        (string _, LogLevel level, string text) = Assert.Single(server.Logs.Entries, e => e.Text.Contains("audit events behind", StringComparison.Ordinal));
        Assert.Equal(LogLevel.Warning, level);
        Assert.Contains($"fell more than {EventHub.SubscriberCapacity} audit events behind", text, StringComparison.Ordinal);
        string metrics = await (await client.GetUrlAsync("/metrics")).TextAsync();
        Assert.Matches(@"(?m)^statepersistence_event_stream_clients_dropped_total(\{\})? 1$", metrics);
    }
}
