using System.Collections.Concurrent;
using System.Diagnostics;
using StatePersistence.Benchmarks.Cases.Postgres;
using StatePersistence.Benchmarks.Harness;
using StatePersistence.Benchmarks.Workload;
using StatePersistence.Diagnostics;
using StatePersistence.Postgres;

namespace StatePersistence.Benchmarks.Cases.StatePersistence;

/// <summary>
/// Change propagation between two instances on one PostgreSQL schema (issue 13): one operation is a save of a new task
/// on instance A followed by waiting until instance B has applied it from the feed (its <c>RemoteChangesApplied</c>).
/// The timed operation is both; the note gives the propagation alone, from A's acknowledgement to B's application,
/// as p50 and p99 over all timed and untimed operations.
/// </summary>
internal sealed class SpPostgresPropagationCase : IBenchCase
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<long>> _waiting = new(StringComparer.Ordinal);
    private readonly List<double> _propagationMicros = [];
    private BenchSchema? _schema;
    private StatePersistenceService? _a;
    private StatePersistenceService? _b;
    private BenchContext? _context;

    public BenchCaseInfo Info { get; } = new("sp-pg-propagation/1w", CaseGroup.StatePersistence, 1)
    {
        Durability = "full",
        Note = "save on instance A, then until instance B has applied it",
    };

    public async ValueTask SetupAsync(BenchContext context, CancellationToken cancellationToken = default)
    {
        _context = context;
        _schema = await BenchPostgres.CreateSchemaAsync("bench_prop", 4, cancellationToken);
        string connectionString = BenchPostgres.ConnectionStringFor(4);
        _a = await PostgresStatePersistence.OpenAsync(connectionString, _schema.Name, Options(), cancellationToken: cancellationToken);
        _b = await PostgresStatePersistence.OpenAsync(connectionString, _schema.Name, Options(), cancellationToken: cancellationToken);
        _b.RemoteChangesApplied += OnApplied;
    }

    public async ValueTask RunOnceAsync(int writer, long sequence, CancellationToken cancellationToken = default)
    {
        var task = SampleTasks.Create(checked((int)sequence));
        var applied = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting[task.Id] = applied;
        await _a!.SaveTaskAsync(task, cancellationToken);
        long acknowledged = Stopwatch.GetTimestamp();
        long seen = await applied.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        lock (_propagationMicros)
        {
            _propagationMicros.Add(Math.Max(0, seen - acknowledged) * 1_000_000.0 / Stopwatch.Frequency);
        }
    }

    public ValueTask VerifyAsync(CancellationToken cancellationToken = default)
    {
        lock (_propagationMicros)
        {
            if (_propagationMicros.Count == 0)
            {
                throw new InvalidOperationException("No change reached instance B.");
            }

            double[] sorted = [.. _propagationMicros.Order()];
            _context!.RunNote = string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"A acknowledged -> B applied: p50 {Percentile(sorted, 0.50) / 1000:F1} ms, p99 {Percentile(sorted, 0.99) / 1000:F1} ms over {sorted.Length} changes");
        }

        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        if (_b is not null)
        {
            _b.RemoteChangesApplied -= OnApplied;
            await _b.DisposeAsync();
        }

        if (_a is not null)
        {
            await _a.DisposeAsync();
        }

        if (_schema is not null)
        {
            await _schema.DisposeAsync();
        }
    }

    private static StatePersistenceOptions Options() =>
        new() { AutosaveInterval = TimeSpan.Zero, ScrubInterval = TimeSpan.Zero, SnapshotOnShutdown = false };

    private void OnApplied(object? sender, RemoteChangesAppliedEventArgs e)
    {
        long now = Stopwatch.GetTimestamp();
        foreach (ItemChange change in e.Changes)
        {
            if (change.Kind == "task" && _waiting.TryRemove(change.Id, out TaskCompletionSource<long>? waiter))
            {
                waiter.TrySetResult(now);
            }
        }
    }

    private static double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}
