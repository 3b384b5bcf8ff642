using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using StatePersistence.Diagnostics;
using StatePersistence.FileStore;
using StatePersistence.Storage;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Diagnostics;

/// <summary>
/// A meter from the host's <c>IMeterFactory</c> is the factory's: disposing it does nothing, and its observable gauges
/// stay registered until the container goes. A disposed service's gauges then still answered every collection (an OTLP
/// exporter's last one at shutdown, a Prometheus scrape in a process that opened the directory again): the figures of a
/// service that is gone, beside the new one's, each taken by probing the store it had released (a probe writes, in a
/// directory that may be another process's by now). Now a disposed service's gauges answer nothing, and the store is
/// never asked. Before 2026-12-07 they went on answering.
/// </summary>
public sealed class GaugesAfterDisposalTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task ADisposedServicesGauges_AnswerNothing_AndItsStoreIsNotProbed()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using ServiceProvider meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = meters.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        using var items = new MetricCollector<long>(factory, StateMeter.Name, "statepersistence.items");
        using var disk = new MetricCollector<long>(factory, StateMeter.Name, "statepersistence.disk.usage");
        StatePersistenceOptions options = _fixture.Options();
        var files = new FileStateStore(options, timeProvider: _fixture.Time);
        var store = new CountingHealthStore(files);
        var service = new StatePersistenceService(options, store, NullLoggerFactory.Instance, _fixture.Time, factory, blobs: files);
        await service.StartAsync(ct);
        await service.SaveTaskAsync(StateFixture.Task("t1"), ct);
        items.RecordObservableInstruments();
        Assert.Contains(items.GetMeasurementSnapshot(), m => m.Value == 1 && Equals(m.Tags["kind"], "tasks"));

        await service.DisposeAsync();
        items.Clear();
        disk.Clear();
        int probesBefore = store.HealthChecks;
        _fixture.Time.Advance(TimeSpan.FromMinutes(5));
        items.RecordObservableInstruments();
        disk.RecordObservableInstruments();

        Assert.Empty(items.GetMeasurementSnapshot());
        Assert.Empty(disk.GetMeasurementSnapshot());
        Assert.Equal(probesBefore, store.HealthChecks);
    }

    /// <summary>The file store, counting how often its health is asked for (a probe file written each time).</summary>
    private sealed class CountingHealthStore(FileStateStore inner) : DelegatingStateStore<FileStateStore>(inner)
    {
        private int _healthChecks;

        public int HealthChecks => Volatile.Read(ref _healthChecks);

        public override StoreHealth CheckHealth()
        {
            Interlocked.Increment(ref _healthChecks);
            return Inner.CheckHealth();
        }
    }
}
