using System.IO.Hashing;
using System.Text;
using StatePersistence.CrashTests.Enumeration;
using StatePersistence.CrashTests.Support;
using StatePersistence.Errors;
using StatePersistence.Model;
using StatePersistence.Testing.CrashSimulation;
using StatePersistence.Testing.FaultInjection;

namespace StatePersistence.CrashTests.Faults;

/// <summary>
/// Countdown fault injection on one write path, as SQLite's test_vfs.c does: a dry run counts the path's calls of
/// each kind; then for every kind, every Nth call, every error (ENOSPC, EIO, EACCES, EPERM), once and for good, a
/// fresh trial fails exactly that call and checks: the call throws a StateStorageException and raises StateSaveError
/// (a failed fsync is never a successful save); once the fault clears the same call and a new save succeed on the
/// same service; and a new process, then (on the simulator) a power cut, finds everything acknowledged.
/// </summary>
internal sealed class FaultMatrix(bool simulated, FaultWritePath path, ReliabilityLedger ledger)
{
    private const int MaxNth = 8;
    private const int PowerCutStatesPerModel = 8;

    private static readonly FaultOperations[] Kinds =
    [
        FaultOperations.Open, FaultOperations.Read, FaultOperations.Write, FaultOperations.SetLength, FaultOperations.Sync,
        FaultOperations.Rename, FaultOperations.Link, FaultOperations.Delete, FaultOperations.SyncDirectory, FaultOperations.List,
        FaultOperations.FreeSpace, FaultOperations.CreateDirectory, FaultOperations.Lock, FaultOperations.SyncFileSystem,
    ];

    private static readonly InjectedError[] Errors = [InjectedError.NoSpace, InjectedError.IOError, InjectedError.AccessDenied, InjectedError.NotPermitted];

    private static readonly AgentTask AfterFault = Items.NewTask("saved-after-the-fault");

    private readonly Violations _violations = new(ledger, null);

    private string FileSystemName => simulated ? "simulator" : "real disk";

    private string PowerCutWorkload => $"faults then power cut: {path.Name}";

    public async Task RunAsync()
    {
        Dictionary<FaultOperations, int> calls = await CountCallsAsync();
        if (simulated)
        {
            // Each trial ends in a power cut: one crash point per trial, over the calls the path makes.
            int trials = calls.Values.Sum(count => Math.Min(count, MaxNth)) * Errors.Length * 2;
            ledger.RecordWorkload(PowerCutWorkload, "fault-then-power-cut", calls.Values.Sum(), trials);
        }

        foreach ((FaultOperations kind, int count) in calls)
        {
            for (int nth = 1; nth <= Math.Min(count, MaxNth); nth++)
            {
                foreach (InjectedError error in Errors)
                {
                    await TrialAsync(kind, nth, error, persistent: false);
                    await TrialAsync(kind, nth, error, persistent: true);
                }
            }
        }

        _violations.ThrowIfAny();
    }

    /// <summary>How many calls of each kind the path's operation makes, with no fault.</summary>
    private async Task<Dictionary<FaultOperations, int>> CountCallsAsync()
    {
        await using var trial = await PreparedTrialAsync();
        Dictionary<FaultOperations, int> before = Kinds.ToDictionary(k => k, trial.Faults.CallCount);
        await OperationAsync(trial);
        return Kinds.Select(k => (Kind: k, Count: trial.Faults.CallCount(k) - before[k])).Where(c => c.Count > 0).ToDictionary(c => c.Kind, c => c.Count);
    }

    /// <summary>A trial with the setup acknowledged by an earlier process and, unless the path is the start, a process running.</summary>
    private async Task<FaultTrial> PreparedTrialAsync()
    {
        var trial = new FaultTrial(simulated, path);
        await trial.StartAsync();
        await path.Setup(trial);
        await trial.StopAsync();
        if (!path.IsStart)
        {
            await trial.StartAsync();
        }

        return trial;
    }

    private Task OperationAsync(FaultTrial trial) => path.IsStart ? trial.StartAsync() : path.Operation(trial);

    private async Task TrialAsync(FaultOperations kind, int nth, InjectedError error, bool persistent)
    {
        string label = $"{FileSystemName}, {path.Name}: {Errno(error)} at {kind} call #{nth}{(persistent ? " and every later one" : " only")}";
        var problems = new List<string>();
        await using FaultTrial trial = await PreparedTrialAsync();
        FaultRule rule = trial.Faults.InjectFault(kind, error, nth, persistent);
        int before = trial.Faults.FaultsInjected;
        Exception? failure = null;
        try
        {
            await OperationAsync(trial);
        }
        catch (Exception ex)
        {
            failure = ex;
        }

        int injected = trial.Faults.FaultsInjected - before;
        trial.Faults.RemoveFault(rule);
        ledger.RecordFaultTrial(FileSystemName, path.Name, kind.ToString(), Errno(error), injected);
        if (injected == 0 && !path.Concurrent)
        {
            problems.Add("the fault never fired: the call the dry run counted did not happen");
        }
        else if (injected == 0)
        {
            // This interleaving made fewer calls of the kind than the dry run: nothing failed, nothing to check.
        }
        else
        {
            CheckFailure(failure, trial, kind, problems);
        }

        await CheckStillRunningAsync(trial, failure, problems);
        if (trial.Simulator is { } simulator)
        {
            await CheckPowerCutAsync(simulator, trial.Model, label, problems);
        }

        await CheckRestartAsync(trial, problems);
        foreach (string problem in problems)
        {
            _violations.Add($"{label}: {problem}\n  calls: {trial.Model.Steps()}");
        }
    }

    private void CheckFailure(Exception? failure, FaultTrial trial, FaultOperations kind, List<string> problems)
    {
        if (failure is null && path.IsStart && trial.Service.LastRecovery!.Warnings.Any(w => w.StartsWith("Could not fsync", StringComparison.Ordinal)))
        {
            // The parent of an existing state directory is not ours: fsyncing it is a best effort, and a refusal
            // (EACCES, EPERM) is a warning in the recovery report rather than a failed start.
            return;
        }

        if (failure is null)
        {
            string fsync = kind is FaultOperations.Sync or FaultOperations.SyncDirectory or FaultOperations.SyncFileSystem ? " (a failed fsync reported as success)" : "";
            problems.Add($"the call succeeded although its {kind} failed{fsync}");
            return;
        }

        if (failure is not StateStorageException)
        {
            problems.Add($"it threw {failure.GetType().Name}, not a StateStorageException (StatePersistenceException): {failure.Message}");
        }

        if (!path.IsStart && trial.SaveErrors.Count == 0)
        {
            problems.Add("no StateSaveError event was raised");
        }
    }

    /// <summary>Once the fault is gone the same service takes the same call again, and a new save.</summary>
    private async Task CheckStillRunningAsync(FaultTrial trial, Exception? failure, List<string> problems)
    {
        try
        {
            if (!path.IsStart)
            {
                await path.Operation(trial);
            }
            else if (failure is not null)
            {
                await trial.StartAsync();
            }

            await trial.SaveTask(AfterFault);
        }
        catch (Exception ex)
        {
            problems.Add("once the fault cleared, the service still failed: " + ex);
        }
    }

    /// <summary>A power cut now: what the fault left unsynced is lost, and nothing acknowledged may be.</summary>
    private async Task CheckPowerCutAsync(CrashSimulatingFileSystem simulator, WorkloadModel model, string label, List<string> problems)
    {
        foreach (CrashModel crashModel in (CrashModel[])[CrashModel.StrictWorstCase, CrashModel.Ext4Ordered])
        {
            var random = new Random((int)XxHash32.HashToUInt32(Encoding.UTF8.GetBytes($"{ReliabilityLedger.Seed}|{label}|{crashModel}")));
            int states = 0;
            foreach (DurableImage image in simulator.PossibleCrashStates(crashModel, PowerCutStatesPerModel, random))
            {
                states++;
                StatePersistenceService service = Services.Create(Services.Options(CrashSimulatingFileSystem.DefaultRoot, path.Configure),
                    CrashSimulatingFileSystem.FromImage(image), Services.NewClock());
                try
                {
                    await service.StartAsync();
                    RecoveredContent content = await RecoveredContent.ReadAsync(service, model.LogSessions);
                    problems.AddRange(model.Check(content).Select(p => $"after a power cut ({crashModel}: {image.Description}): {p}"));
                }
                catch (Exception ex)
                {
                    problems.Add($"after a power cut ({crashModel}: {image.Description}) recovery failed: {ex}");
                }
                finally
                {
                    await Services.AbandonAsync(service);
                }
            }

            ledger.RecordCrashStates(PowerCutWorkload, crashModel, states);
        }
    }

    /// <summary>
    /// A new process on the same disk (no power cut) finds everything acknowledged; and whatever it serves must be
    /// durable before it is served: a power cut right after the restart loads exactly the same state. Linux keeps the
    /// pages of a failed write-back readable, so data whose fsync failed is visible to the restart but not on disk
    /// (issue 9, defect 4): the restart must write it anew before showing it.
    /// </summary>
    private async Task CheckRestartAsync(FaultTrial trial, List<string> problems)
    {
        RecoveredContent served;
        try
        {
            // Through the fault injector with no rule armed, so it sees which failed writes the restart rewrote.
            await trial.StartAsync();
            served = await RecoveredContent.ReadAsync(trial.Service, trial.Model.LogSessions);
            problems.AddRange(trial.Model.Check(served).Select(p => "after a restart: " + p));
            await trial.StopAsync();
        }
        catch (Exception ex)
        {
            problems.Add("after a restart, recovery failed: " + ex);
            return;
        }

        if (trial.Simulator is { } simulator)
        {
            await CheckPowerCutAfterRestartAsync(simulator, served, problems);
            return;
        }

        trial.Faults.LoseWritesWhoseSyncFailed();
        try
        {
            await trial.StartAsync(withoutFaults: true);
            RecoveredContent after = await RecoveredContent.ReadAsync(trial.Service, trial.Model.LogSessions);
            problems.AddRange(served.Differences(after).Select(d => "a restart served what a power cut then took away (failed fsync's pages were not rewritten): " + d));
        }
        catch (Exception ex)
        {
            problems.Add("after a restart and the loss of the pages whose fsync failed, recovery failed: " + ex);
        }
    }

    /// <summary>Sampled power cuts of the simulated disk right after a restart: each must load what the restart served.</summary>
    private async Task CheckPowerCutAfterRestartAsync(CrashSimulatingFileSystem simulator, RecoveredContent served, List<string> problems)
    {
        var random = new Random(ReliabilityLedger.Seed);
        int states = 0;
        foreach (DurableImage image in simulator.PossibleCrashStates(CrashModel.StrictWorstCase, PowerCutStatesPerModel, random))
        {
            states++;
            StatePersistenceService service = Services.Create(Services.Options(CrashSimulatingFileSystem.DefaultRoot, path.Configure),
                CrashSimulatingFileSystem.FromImage(image), Services.NewClock());
            try
            {
                await service.StartAsync();
                RecoveredContent after = await RecoveredContent.ReadAsync(service, served.Logs.Keys);
                problems.AddRange(served.Differences(after).Select(d => $"a restart served what a power cut then took away ({image.Description}): {d}"));
            }
            catch (Exception ex)
            {
                problems.Add($"a power cut after the restart ({image.Description}): recovery failed: {ex}");
            }
            finally
            {
                await Services.AbandonAsync(service);
            }
        }

        ledger.RecordCrashStates(PowerCutWorkload + ", after the restart", CrashModel.StrictWorstCase, states);
    }

    private static string Errno(InjectedError error) => error switch
    {
        InjectedError.NoSpace => "ENOSPC",
        InjectedError.IOError => "EIO",
        InjectedError.AccessDenied => "EACCES",
        _ => "EPERM",
    };
}
