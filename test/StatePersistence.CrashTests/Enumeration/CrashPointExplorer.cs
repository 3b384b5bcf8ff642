using StatePersistence.CrashTests.Support;
using StatePersistence.Testing.CrashSimulation;

namespace StatePersistence.CrashTests.Enumeration;

/// <summary>
/// Crash-point enumeration of one workload: a dry run counts its file-system operations; then for every N the
/// workload runs again and crashes before operation N (and once after the last), and every crash state the disk
/// could be left in (all when few, a seeded sample when many), under both crash models, is booted, recovered and
/// checked by <see cref="CrashStateChecker"/>.
/// </summary>
internal sealed class CrashPointExplorer(Workload workload, ReliabilityLedger ledger)
{
    private static readonly CrashModel[] Models = [CrashModel.StrictWorstCase, CrashModel.Ext4Ordered];
    private static readonly TimeSpan PhaseDeadline = TimeSpan.FromMinutes(1);

    private readonly Violations _violations = new(ledger, workload.Name);

    /// <summary>Explores every crash point and fails the test with the violations found.</summary>
    public async Task ExploreAsync()
    {
        RunResult dry = await RunAsync(crashPoint: null);
        if (dry.Unexpected is not null)
        {
            _violations.Add($"{workload.Name}: the workload failed without any crash: {dry.Unexpected}");
            _violations.ThrowIfAny();
        }

        int operations = dry.Operations.Count;
        ledger.RecordWorkload(workload.Name, workload.Crash == CrashKind.PowerLoss ? "power-loss" : "kill-then-power-loss", operations, operations + 1);
        var checker = new CrashStateChecker(workload, _violations);
        for (int point = 1; point <= operations + 1; point++)
        {
            RunResult run = point <= operations ? await RunAsync(point) : dry;
            run.Point = point <= operations ? $"before operation {dry.Operations[point - 1]}" : "after the last operation";
            CheckDeterministic(dry, run, point);
            if (run.Unexpected is not null)
            {
                _violations.Add($"{workload.Name}: crash {run.Point}: a call failed that the crash does not explain: {run.Unexpected}");
            }

            foreach (string problem in run.RestartProblems)
            {
                _violations.Add($"{workload.Name}: kill {run.Point}: {problem}\n  calls: {run.Model.Steps()}");
            }

            foreach ((CrashModel model, IEnumerable<DurableImage> states) in run.States)
            {
                int checkedStates = 0;
                foreach (DurableImage image in states)
                {
                    await checker.CheckAsync(run, model, image);
                    checkedStates++;
                }

                ledger.RecordCrashStates(workload.Name, model, checkedStates);
            }
        }

        _violations.ThrowIfAny();
    }

    /// <summary>Runs the workload once, crashing before the phase's operation <paramref name="crashPoint"/> (never when null).</summary>
    private async Task<RunResult> RunAsync(int? crashPoint)
    {
        var disk = new CrashSimulatingFileSystem();
        var run = new WorkloadRun(workload, disk);
        bool startInPhase = workload.CrashDuringStart || workload.BeforeRestart is not null;
        if (workload.Setup is not null || !startInPhase)
        {
            await run.StartProcessAsync();
            if (workload.Setup is not null)
            {
                await workload.Setup(run);
            }
        }

        if (startInPhase)
        {
            await run.AbandonProcessAsync();
            workload.BeforeRestart?.Invoke(disk, run.Model);
        }

        int start = disk.OperationCount;
        if (crashPoint is int point && workload.Crash == CrashKind.PowerLoss)
        {
            disk.CrashAtOperation = start + point;
        }
        else if (crashPoint is int killPoint)
        {
            disk.OperationStarting = operation =>
            {
                if (operation.Number == start + killPoint)
                {
                    run.Process.Kill();
                    throw new ProcessKilledException();
                }
            };
        }

        Exception? unexpected = await PhaseAsync(run, startInPhase ? run.StartProcessAsync : null, workload.Run);
        var result = new RunResult(run.Model, [.. disk.Operations.Skip(start)], unexpected);
        if (workload.Crash == CrashKind.KillThenPowerLoss)
        {
            disk.OperationStarting = null;
            await run.AbandonProcessAsync();
            await RestartAfterKillAsync(run, result);
        }

        foreach (CrashModel model in Models)
        {
            // Captured now: the pending operations are fixed when PossibleCrashStates is called.
            result.States[model] = disk.PossibleCrashStates(model, workload.StatesPerPoint, new Random(SeedOf(crashPoint, model)));
        }

        await run.AbandonProcessAsync();
        return result;
    }

    /// <summary>A second process on the page cache the killed one left; what it loads counts as acknowledged.</summary>
    private async Task RestartAfterKillAsync(WorkloadRun run, RunResult result)
    {
        Exception? unexpected = await PhaseAsync(run, run.StartProcessAsync, async r =>
        {
            RecoveredContent seen = await RecoveredContent.ReadAsync(r.Service, r.Model.LogSessions);
            foreach (string problem in r.Model.Check(seen))
            {
                result.RestartProblems.Add("the restarted process loaded: " + problem);
            }

            r.Model.Observe(seen);
            if (workload.AfterRestart is not null)
            {
                await workload.AfterRestart(r);
            }
        });
        if (unexpected is not null)
        {
            result.RestartProblems.Add("the restarted process failed: " + unexpected);
        }
    }

    private static async Task<Exception?> PhaseAsync(WorkloadRun run, Func<Task>? start, Func<WorkloadRun, Task> body)
    {
        try
        {
            // A workload takes milliseconds; the deadline turns a deadlock into a reported failure instead of a hang.
            await Task.Run(async () =>
            {
                if (start is not null)
                {
                    await start();
                }

                await body(run);
            }).WaitAsync(PhaseDeadline);
            return null;
        }
        catch (WorkloadStoppedException)
        {
            return null;
        }
        catch (TimeoutException ex)
        {
            return new TimeoutException($"The workload deadlocked. {run.Process.DescribeGates()}. Last operations: "
                + string.Join(", ", run.Disk.Operations.TakeLast(6)), ex);
        }
        catch (Exception ex) when (!run.Crashed)
        {
            return ex;
        }
        catch (Exception)
        {
            // A step the crash interrupted before it could be recorded (a gate wait, a background task).
            return null;
        }
        finally
        {
            run.Process.ReleaseAll();
        }
    }

    private void CheckDeterministic(RunResult dry, RunResult run, int point)
    {
        int done = Math.Min(point - 1, dry.Operations.Count);
        if (run.Operations.Count < done || !run.Operations.Take(done).Zip(dry.Operations.Take(done)).All(ops => Same(ops.First, ops.Second)))
        {
            throw new InvalidOperationException($"{workload.Name} is not deterministic: before crash point {point} it did "
                + $"[{string.Join(", ", run.Operations.Take(done))}] instead of [{string.Join(", ", dry.Operations.Take(done))}].");
        }
    }

    /// <summary>The same operation in two runs: equal, or a write of the same file at the same offset where <see cref="Workload.WriteLengthVaries"/>.</summary>
    private bool Same(SimulatedOperation run, SimulatedOperation dry) =>
        run == dry || (run.Kind == SimulatedOperationKind.Write && workload.WriteLengthVaries?.Invoke(run.Path) == true && run with { Length = 0 } == dry with { Length = 0 });

    /// <summary>A seed per workload, point and model, stable across processes (unlike <see cref="HashCode"/>).</summary>
    private int SeedOf(int? point, CrashModel model) => CrashSeeds.Of(ReliabilityLedger.Seed, workload.Name, point ?? 0, model);
}

/// <summary>What one run left: the model of its calls, the operations it did, and the crash states to check.</summary>
internal sealed class RunResult(WorkloadModel model, List<SimulatedOperation> operations, Exception? unexpected)
{
    public WorkloadModel Model => model;

    public List<SimulatedOperation> Operations => operations;

    public Exception? Unexpected => unexpected;

    public string Point { get; set; } = "";

    public Dictionary<CrashModel, IEnumerable<DurableImage>> States { get; } = [];

    /// <summary>Problems seen by the process restarted after a kill, reported once per run.</summary>
    public List<string> RestartProblems { get; } = [];
}
