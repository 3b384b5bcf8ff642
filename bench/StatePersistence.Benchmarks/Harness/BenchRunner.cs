using StatePersistence.Benchmarks.Results;
using StatePersistence.Benchmarks.Workload;

namespace StatePersistence.Benchmarks.Harness;

/// <summary>Runs one case from setup to cleanup in its own temporary directory and turns it into a result.</summary>
internal sealed class BenchRunner(BenchOptions options, TaskDocuments documents)
{
    public async Task<CaseResult> RunAsync(IBenchCase benchCase, CancellationToken cancellationToken)
    {
        BenchCaseInfo info = benchCase.Info;
        string directory = Path.Combine(options.Root, $"{Slug(info.Name)}-{Guid.NewGuid().ToString("N")[..8]}");
        Directory.CreateDirectory(directory);
        var context = new BenchContext { Directory = directory, Quick = options.Quick, Documents = documents };
        try
        {
            await benchCase.SetupAsync(context, cancellationToken);
            BenchBudget budget = info.Budget ?? BenchBudget.For(info.Weight, options.Quick);
            Measurement m = LoadGenerator.Run(benchCase, budget, cancellationToken);
            await benchCase.VerifyAsync(cancellationToken);
            return ToResult(info, context, m);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return Failed(info, e);
        }
        finally
        {
            await benchCase.DisposeAsync();
            TryDelete(directory);
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }
    }

    private static CaseResult ToResult(BenchCaseInfo info, BenchContext context, Measurement m) => new()
    {
        Name = info.Name,
        Group = info.Group.ToString(),
        OpsPerSec = Math.Round(m.OpsPerSecond, 1),
        P50Us = Math.Round(m.P50Micros, 1),
        P99Us = Math.Round(m.P99Micros, 1),
        MaxUs = Math.Round(m.MaxMicros, 1),
        Ops = m.Ops,
        Seconds = Math.Round(m.Seconds, 3),
        Writers = info.Writers,
        Durability = info.Durability,
        Tasks = info.Tasks,
        BytesPerOp = context.BytesPerOperation,
        PeakMemoryBytes = m.PeakMemoryBytes,
        Note = JoinNotes(info.Note, context.RunNote, m.HitCapacity ? "latency array full: stopped early" : null),
    };

    private static CaseResult Failed(BenchCaseInfo info, Exception e) => new()
    {
        Name = info.Name,
        Group = info.Group.ToString(),
        Writers = info.Writers,
        Durability = info.Durability,
        Tasks = info.Tasks,
        Note = info.Note,
        Error = $"{e.GetType().Name}: {e.Message}",
    };

    private static string? JoinNotes(params string?[] notes) =>
        string.Join("; ", notes.Where(n => !string.IsNullOrEmpty(n))) is { Length: > 0 } joined ? joined : null;

    private static string Slug(string name) =>
        string.Concat(name.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-'));

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"warning: could not delete {directory}: {e.Message}");
        }
        catch (UnauthorizedAccessException e)
        {
            Console.Error.WriteLine($"warning: could not delete {directory}: {e.Message}");
        }
    }
}
