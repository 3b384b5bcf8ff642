using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using StatePersistence.Diagnostics;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Metrics;

public sealed class OpenTelemetryTests
{
    [Fact]
    public async Task Tracing_WithoutAnOtlpEndpoint_IsNotRegistered()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();
        await client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d"}""");

        Assert.Null(server.Services.GetService<TracerProvider>());
    }

    [Fact]
    public async Task Traces_WithAnOtlpEndpoint_ReachTheCollector_WithRequestAndSaveSpans()
    {
        // A stand-in OTLP/HTTP collector: it keeps every body posted to /v1/traces.
        var traces = new ConcurrentQueue<byte[]>();
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using WebApplication collector = builder.Build();
        collector.MapPost("/v1/traces", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            traces.Enqueue(body.ToArray());
            return Results.Ok();
        });
        await collector.StartAsync(Ct);
        string endpoint = collector.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();

        await using (var server = new StateServerFactory(("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint), ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")))
        {
            using HttpClient client = server.Client();
            await client.PostJsonAsync("/api/tasks", """{"id":"task_1","description":"d"}""");
            await client.PostAsync("/api/state/save", null, Ct);
            Assert.True(server.Services.GetRequiredService<TracerProvider>().ForceFlush(10_000));
        }

        // OTLP is protobuf, where span names are stored as plain UTF-8.
        string all = string.Join("\n", traces.Select(t => Encoding.UTF8.GetString(t)));
        Assert.Contains("POST /api/tasks", all, StringComparison.Ordinal);
        Assert.Contains(StateActivities.Save, all, StringComparison.Ordinal);
        Assert.Contains(StateActivities.CommitWait, all, StringComparison.Ordinal);
        Assert.Contains(StateActivities.JournalAppend, all, StringComparison.Ordinal);
        Assert.Contains(StateActivities.JournalFsync, all, StringComparison.Ordinal);
        Assert.Contains(StateActivities.Checkpoint, all, StringComparison.Ordinal);
        Assert.Contains(StateActivities.Recovery, all, StringComparison.Ordinal);
        Assert.Contains("statepersistence-server", all, StringComparison.Ordinal);
    }
}
