using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using StatePersistence.Server.Refusals;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Server.Tests.Refusals;

/// <summary>The coalescing of refusal log lines, on a fake clock: the first whole, then a summary per interval, then an end.</summary>
public sealed class RefusedRequestsTests : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2024, 1, 1, 10, 0, 0, TimeSpan.Zero));
    private readonly LogCapture _logs = new();
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly ILoggerFactory _loggerFactory;
    private readonly RefusedRequests _refused;

    public RefusedRequestsTests()
    {
        _loggerFactory = LoggerFactory.Create(b => b.AddProvider(_logs).SetMinimumLevel(LogLevel.Trace));
        _refused = new RefusedRequests(_services.GetRequiredService<IMeterFactory>(), _time, new RefusalLog(_loggerFactory.CreateLogger<RefusalLog>()), Interval);
    }

    public void Dispose()
    {
        _refused.Dispose();
        _loggerFactory.Dispose();
        _services.Dispose();
    }

    private IEnumerable<string> Lines(LogLevel level) => _logs.Entries.Where(e => e.Level == level).Select(e => e.Text);

    [Fact]
    public void AFlood_IsTheFirstWhole_ThenOneSummaryPerInterval_ThenALineWhenItStops()
    {
        Assert.True(_refused.LogWhole("storage", 503, "cause 0"));
        for (int i = 1; i < 1000; i++)
        {
            Assert.False(_refused.LogWhole("storage", 503, $"cause {i}"));
        }

        Assert.Empty(Lines(LogLevel.Warning)); // the first is the caller's to log whole
        Assert.Equal(999, Lines(LogLevel.Debug).Count());

        _time.Advance(Interval);
        string summary = Assert.Single(Lines(LogLevel.Warning));
        Assert.Contains("999 more requests were refused (storage, 503)", summary, StringComparison.Ordinal);
        Assert.Contains("the latest cause: cause 999", summary, StringComparison.Ordinal);

        _refused.LogWhole("storage", 503, "cause 1000");
        _time.Advance(Interval);
        Assert.Equal(2, Lines(LogLevel.Warning).Count());
        Assert.Contains("1 more requests were refused", Lines(LogLevel.Warning).Last(), StringComparison.Ordinal);

        _time.Advance(Interval); // a quiet interval ends the spell
        string ended = Assert.Single(Lines(LogLevel.Information));
        Assert.Contains("no longer refused (storage, 503): 1001 were refused", ended, StringComparison.Ordinal);

        _time.Advance(Interval * 5);
        Assert.Equal(2, Lines(LogLevel.Warning).Count());
        Assert.Single(Lines(LogLevel.Information));
        Assert.True(_refused.LogWhole("storage", 503, "again")); // a new spell starts whole
    }

    [Fact]
    public void ASingleRefusal_IsLoggedWhole_AndEndsWithoutASummary()
    {
        Assert.True(_refused.LogWhole("body_budget", 503, "one"));

        _time.Advance(Interval);

        Assert.Empty(Lines(LogLevel.Warning));
        Assert.Contains("1 were refused", Assert.Single(Lines(LogLevel.Information)), StringComparison.Ordinal);
    }

    [Fact]
    public void EachReasonAndStatus_HasItsOwnSpell()
    {
        Assert.True(_refused.LogWhole("storage", 503, "a"));
        Assert.True(_refused.LogWhole("storage", 500, "b"));
        Assert.True(_refused.LogWhole("event_streams", 503, "c"));
        Assert.False(_refused.LogWhole("storage", 503, "d"));
    }

    [Fact]
    public void EveryRefusal_IsCounted_LoggedWholeOrNot()
    {
        var counted = new Dictionary<string, long>(StringComparer.Ordinal);
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // This test's meter only: other tests' servers count refusals in the same process.
            if (instrument.Name == "statepersistence.requests.refused" && ReferenceEquals(instrument.Meter.Scope, _services.GetRequiredService<IMeterFactory>()))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string reason = (string)tags.ToArray().Single(t => t.Key == "reason").Value!;
            counted[reason] = counted.GetValueOrDefault(reason) + value;
        });
        listener.Start();
        for (int i = 0; i < 50; i++)
        {
            _refused.LogWhole("storage", 503, "down");
        }

        _refused.Count("shutting_down", 503);

        Assert.Equal(50, counted["storage"]);
        Assert.Equal(1, counted["shutting_down"]);
    }
}
