using System.Collections.Concurrent;
using StatePersistence.Benchmarks.Harness;
using StatePersistence.Benchmarks.Workload;

namespace StatePersistence.Benchmarks.Tests;

/// <summary>
/// A case's own counters (a database server's WAL) are attributed to it only if the harness brackets each of its rounds,
/// and every operation of the round (its warmup included) runs inside the bracket.
/// </summary>
public class RoundObserverTests
{
    [Fact]
    public async Task Harness_BracketsEveryRound_AndRunsNoOperationOutsideOne()
    {
        string root = Directory.CreateTempSubdirectory("statepersistence-bench-test.").FullName;
        try
        {
            BenchOptions options = BenchOptions.Parse(["--quick", "--rounds", "2", "--root", root, "--out", Path.Combine(root, "out.json")])!;
            var observed = new ObservedCase();
            var runner = new BenchRunner(options, TaskDocuments.Create(), TextWriter.Null);

            IReadOnlyList<Results.CaseResult> results = await runner.RunAsync([observed], TestContext.Current.CancellationToken);

            Assert.Null(results.Single().Error);
            Assert.Equal(["start", "end", "start", "end"], observed.Events);
            Assert.Equal(0, observed.OutsideARound);
            Assert.True(observed.Inside > 0, "no operation ran inside a round");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private sealed class ObservedCase : IBenchCase, IRoundObserver
    {
        private int _open;
        private long _inside;
        private long _outside;

        public BenchCaseInfo Info { get; } = new("observed/2w", CaseGroup.Floors, Writers: 2)
        {
            Budget = new BenchBudget(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(200), MinWarmupOps: 2, MinOps: 4),
        };

        public ConcurrentQueue<string> Events { get; } = new();

        public long Inside => Interlocked.Read(ref _inside);

        public long OutsideARound => Interlocked.Read(ref _outside);

        public ValueTask SetupAsync(BenchContext context, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public async ValueTask RunOnceAsync(int writer, long sequence, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref Volatile.Read(ref _open) == 1 ? ref _inside : ref _outside);
            await Task.Yield();
        }

        public void RoundStarting()
        {
            Events.Enqueue("start");
            Volatile.Write(ref _open, 1);
        }

        public void RoundEnded()
        {
            Volatile.Write(ref _open, 0);
            Events.Enqueue("end");
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
