using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using StatePersistence.FileStore;
using StatePersistence.FileSystem;
using StatePersistence.Retention;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Retention;

/// <summary>
/// A service over a real state directory with a retention policy and its own meter factory (so a test's counters see
/// only its own service), the background timer off: each test runs the pass itself, as the loop would.
/// </summary>
internal sealed class RetentionHarness : IDisposable
{
    private readonly ServiceProvider _meters = new ServiceCollection().AddMetrics().BuildServiceProvider();

    public StateFixture Fixture { get; } = new();

    public IMeterFactory Meters => _meters.GetRequiredService<IMeterFactory>();

    public async Task<StatePersistenceService> OpenAsync(Action<RetentionOptions> policy, Action<StatePersistenceOptions>? configure = null)
    {
        StatePersistenceOptions options = Fixture.Options(o =>
        {
            o.Retention.Interval = TimeSpan.Zero;
            policy(o.Retention);
            configure?.Invoke(o);
        });
        var store = new FileStateStore(options, PhysicalFileSystem.Instance, options.ResolvePayloadCodec(), timeProvider: Fixture.Time);
        var service = new StatePersistenceService(options, store, timeProvider: Fixture.Time, meterFactory: Meters);
        await service.StartAsync(TestContext.Current.CancellationToken);
        return service;
    }

    /// <summary>The names in <c>logs/</c>, sorted.</summary>
    public string[] LogFiles() =>
        [.. Directory.GetFiles(Fixture.File("logs")).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)];

    /// <summary>Lines <c>line-NN\n</c> from <paramref name="from"/> to <paramref name="to"/>: 8 bytes of text, a 28-byte frame each.</summary>
    public static string Lines(int from, int to) =>
        string.Concat(Enumerable.Range(from, to - from + 1).Select(i => $"line-{i:D2}\n"));

    public static async Task AppendLinesAsync(StatePersistenceService service, string sessionId, int from, int to)
    {
        for (int i = from; i <= to; i++)
        {
            await service.AppendSessionLogAsync(sessionId, $"line-{i:D2}\n", TestContext.Current.CancellationToken);
        }
    }

    public void Dispose()
    {
        _meters.Dispose();
        Fixture.Dispose();
    }
}
