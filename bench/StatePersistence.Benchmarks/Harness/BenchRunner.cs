using System.Globalization;
using StatePersistence.Benchmarks.Results;
using StatePersistence.Benchmarks.Workload;

namespace StatePersistence.Benchmarks.Harness;

/// <summary>
/// Runs the selected cases: sets each up in its own temporary directory, measures them in rounds (every case
/// once per round, so load on the machine falls on all of them alike), verifies them, then disposes them and
/// deletes their directories, whatever happened.
/// </summary>
internal sealed class BenchRunner(BenchOptions options, TaskDocuments documents, TextWriter progress)
{
    public async Task<IReadOnlyList<CaseResult>> RunAsync(IReadOnlyList<IBenchCase> cases,
        CancellationToken cancellationToken)
    {
        var runs = new List<CaseRun>();
        try
        {
            foreach (IBenchCase benchCase in cases)
            {
                runs.Add(await SetUpAsync(benchCase, cancellationToken));
            }

            for (int round = 0; round < options.Rounds; round++)
            {
                foreach (CaseRun run in runs.Where(r => r.Failure is null))
                {
                    Measure(run, round, cancellationToken);
                }
            }

            foreach (CaseRun run in runs.Where(r => r.Failure is null))
            {
                await VerifyAsync(run, cancellationToken);
            }

            return [.. runs.Select(ToResult)];
        }
        finally
        {
            foreach (CaseRun run in runs)
            {
                await run.Case.DisposeAsync();
                TryDelete(run.Context.Directory);
            }
        }
    }

    private async Task<CaseRun> SetUpAsync(IBenchCase benchCase, CancellationToken cancellationToken)
    {
        BenchCaseInfo info = benchCase.Info;
        string directory = Path.Combine(options.Root, $"{Slug(info.Name)}-{Guid.NewGuid().ToString("N")[..8]}");
        Directory.CreateDirectory(directory);
        var context = new BenchContext { Directory = directory, Quick = options.Quick, Documents = documents };
        var run = new CaseRun(benchCase, context, info.Budget ?? BenchBudget.For(info.Weight, options.Quick));
        progress.Write($"setup {info.Name} ... ");
        try
        {
            await benchCase.SetupAsync(context, cancellationToken);
            progress.WriteLine("ok");
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            run.Failure = e;
            progress.WriteLine($"FAILED: {e.Message}");
        }

        return run;
    }

    private void Measure(CaseRun run, int round, CancellationToken cancellationToken)
    {
        // Start each case from a collected heap and a clean page cache, so neither one case's garbage nor the
        // write-back of its dirty pages (set-ups write hundreds of MiB unsynced) lands on another's clock.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true);
        GC.WaitForPendingFinalizers();
        Native.Posix.SyncFileSystem(options.Root);
        progress.Write($"round {round + 1}/{options.Rounds} {run.Info.Name,-34} ");
        var observer = run.Case as IRoundObserver;
        try
        {
            RoundBudget budget = run.Budget.ForRound(round, options.Rounds);
            observer?.RoundStarting();
            (long ops, double opsPerSecond) = run.Case is IExternalLoadCase external
                ? Record(run, external.RunRound(budget, cancellationToken))
                : LoadGenerator.RunRound(run, budget, cancellationToken);
            observer?.RoundEnded();
            progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{opsPerSecond,10:N0} ops/s ({ops} ops)"));
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            run.Failure = e;
            progress.WriteLine($"FAILED: {e.Message}");
        }
    }

    private static (long Ops, double OpsPerSecond) Record(CaseRun run, ExternalRound round)
    {
        run.ExternalRounds.Add(round);
        return (round.Ops, round.Seconds > 0 ? round.Ops / round.Seconds : 0);
    }

    private static async Task VerifyAsync(CaseRun run, CancellationToken cancellationToken)
    {
        try
        {
            await run.Case.VerifyAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            run.Failure = e;
        }
    }

    private static CaseResult ToResult(CaseRun run)
    {
        BenchCaseInfo info = run.Info;
        if (run.Failure is { } failure)
        {
            return new CaseResult
            {
                Name = info.Name,
                Group = info.Group.ToString(),
                Writers = info.Writers,
                Durability = info.Durability,
                Tasks = info.Tasks,
                Note = info.Note,
                Error = $"{failure.GetType().Name}: {failure.Message}",
            };
        }

        Measurement m = Summary.Of(run);
        return new CaseResult
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
            BytesPerOp = run.Context.BytesPerOperation,
            PeakMemoryBytes = m.PeakMemoryBytes,
            CpuUsPerOp = m.CpuMicrosPerOp is { } cpu ? Math.Round(cpu, 1) : null,
            Note = JoinNotes(info.Note, run.Context.RunNote, m.HitCapacity ? "latency array full: stopped early" : null),
        };
    }

    private static string? JoinNotes(params string?[] notes) =>
        string.Join("; ", notes.Where(n => !string.IsNullOrEmpty(n))) is { Length: > 0 } joined ? joined : null;

    private static string Slug(string name) =>
        string.Concat(name.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-'));

    private void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            progress.WriteLine($"warning: could not delete {directory}: {e.Message}");
        }
    }
}
