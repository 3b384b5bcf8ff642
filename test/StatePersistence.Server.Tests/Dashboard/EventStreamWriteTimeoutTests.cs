using Microsoft.Extensions.Logging;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Dashboard;

/// <summary>
/// An event stream client that stops reading is dropped once a write has waited
/// <c>StatePersistence:Server:EventsWriteTimeout</c> for it (the scale audit: 50 such clients held their connections,
/// each with megabytes queued, for as long as they liked; 256 would have locked every other client out). The test
/// server's response pipe pauses its writer at 64 KiB, as a full TCP window does.
/// </summary>
public sealed class EventStreamWriteTimeoutTests
{
    [Fact]
    public async Task AClientThatStopsReading_IsDropped_LoggedAndCounted_WhileOneThatReadsKeepsItsStream()
    {
        // The timeout is also how long the client that reads may be kept from reading (its reads are thread pool work
        // beside eight writers): a second of that was short for a loaded 2-core machine, and dropped it too.
        await using var server = new StateServerFactory(("StatePersistence:Server:EventsWriteTimeout", "00:00:10"),
            ("StatePersistence:Durability", "Relaxed"));
        using HttpClient client = server.Client();
        await using SseReader reading = await SseReader.OpenAsync(client);
        await using SseReader stalled = await SseReader.OpenAsync(client);

        // Far more than the pipe holds (about 100 bytes an event); the reading client takes every one.
        const int Saves = 3_000;
        Task<List<SseReader.Event>> readAll = reading.ReadAsync(Saves);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(writer => Task.Run(async () =>
        {
            for (int i = writer; i < Saves; i += 8)
            {
                await server.Persistence.SaveTaskAsync(new Model.AgentTask { Id = $"t{i}", Description = "d", Status = "pending" }, Ct);
            }
        }, Ct)));

        Assert.Equal(Saves, (await readAll).Count);
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        bounded.CancelAfter(TimeSpan.FromSeconds(30));
        while (!server.Logs.Entries.Any(e => e.Text.StartsWith("An event stream client at", StringComparison.Ordinal)))
        {
            await Task.Delay(50, bounded.Token);
        }

        (string _, LogLevel level, string text) = Assert.Single(server.Logs.Entries, e => e.Text.StartsWith("An event stream client at", StringComparison.Ordinal));
        Assert.Equal(LogLevel.Warning, level);
        Assert.Contains("read nothing for 00:00:10", text, StringComparison.Ordinal);
        Assert.Contains("EventsWriteTimeout", text, StringComparison.Ordinal);
        string metrics = await (await client.GetUrlAsync("/metrics")).TextAsync();
        Assert.Matches(@"(?m)^statepersistence_event_stream_clients_dropped_total(\{\})? 1$", metrics);

        // The dropped stream is aborted (the test server discards what was queued; TCP would deliver it first), so its
        // read fails at once, not at the reader's own timeout.
        Exception end = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            while (true)
            {
                await stalled.ReadAsync(1);
            }
        });
        Assert.False(end is OperationCanceledException, end.ToString());
    }
}
