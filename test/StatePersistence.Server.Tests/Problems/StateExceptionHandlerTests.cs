using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StatePersistence.Errors;
using StatePersistence.Server.Configuration;
using StatePersistence.Server.Problems;
using StatePersistence.Server.Refusals;

namespace StatePersistence.Server.Tests.Problems;

public sealed class StateExceptionHandlerTests
{
    [Fact]
    public async Task ServerErrors_CarryACorrelationId_NotTheExceptionsMessageOrPath()
    {
        using ServiceProvider metrics = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var refused = new RefusedRequests(metrics.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), TimeProvider.System,
            new RefusalLog(NullLogger<RefusalLog>.Instance));
        var handler = new StateExceptionHandler(NullLogger<StateExceptionHandler>.Instance, Options.Create(new StateServerOptions()), refused);
        foreach (Exception error in new Exception[]
                 {
                     new StateStorageException("Could not write '/srv/secret-state/tasks/t.json': disk on fire", "/srv/secret-state/tasks/t.json", null),
                     new InvalidOperationException("boom at /srv/secret-state"),
                 })
        {
            var context = new DefaultHttpContext { TraceIdentifier = "corr-42", RequestServices = new ServiceCollection().AddLogging().BuildServiceProvider() };
            context.Response.Body = new MemoryStream();

            Assert.True(await handler.TryHandleAsync(context, error, TestContext.Current.CancellationToken));

            context.Response.Body.Position = 0;
            using JsonDocument problem = await JsonDocument.ParseAsync(context.Response.Body, cancellationToken: TestContext.Current.CancellationToken);
            Assert.True(context.Response.StatusCode >= 500);
            Assert.Equal("corr-42", problem.RootElement.GetProperty("correlation_id").GetString());
            Assert.Contains("corr-42", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.DoesNotContain("/srv", problem.RootElement.GetRawText(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AnUnexpectedException_IsCountedWithTheRefusals_AndLoggedWholeOnceASpell()
    {
        using ServiceProvider metrics = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var logs = new Support.LogCapture();
        using ILoggerFactory loggers = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        using var refused = new RefusedRequests(metrics.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), TimeProvider.System,
            new RefusalLog(loggers.CreateLogger<RefusalLog>()));
        var handler = new StateExceptionHandler(loggers.CreateLogger<StateExceptionHandler>(), Options.Create(new StateServerOptions()), refused);
        var counted = new List<(string Reason, int Status)>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // This test's meter only: other tests' servers count refusals in the same process.
            if (instrument.Name == "statepersistence.requests.refused" && ReferenceEquals(instrument.Meter.Scope, metrics.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
            counted.Add(((string)tags.ToArray().Single(t => t.Key == "reason").Value!, (int)tags.ToArray().Single(t => t.Key == "status").Value!)));
        listener.Start();

        for (int i = 0; i < 3; i++)
        {
            var context = new DefaultHttpContext { TraceIdentifier = $"corr-{i}", RequestServices = new ServiceCollection().AddLogging().BuildServiceProvider() };
            context.Response.Body = new MemoryStream();
            Assert.True(await handler.TryHandleAsync(context, new InvalidOperationException($"defect {i}"), TestContext.Current.CancellationToken));
            Assert.Equal(StatusCodes.Status500InternalServerError, context.Response.StatusCode);
        }

        Assert.Equal([("unexpected", 500), ("unexpected", 500), ("unexpected", 500)], counted);
        (string _, LogLevel _, string whole) = Assert.Single(logs.Entries, e => e.Level == LogLevel.Error);
        Assert.Contains("corr-0", whole, StringComparison.Ordinal);
        Assert.Contains("defect 0", whole, StringComparison.Ordinal); // the exception, with its stack trace
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Debug && e.Text.Contains("defect 2", StringComparison.Ordinal)
            && e.Text.Contains("corr-2", StringComparison.Ordinal));
    }
}
