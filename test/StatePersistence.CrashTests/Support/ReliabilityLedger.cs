using System.Diagnostics;
using System.Globalization;
using StatePersistence.Testing.CrashSimulation;

[assembly: AssemblyFixture(typeof(StatePersistence.CrashTests.Support.ReliabilityLedger))]

namespace StatePersistence.CrashTests.Support;

/// <summary>
/// The suite's figures: every crash state recovered and checked, every kill -9, every injected fault and every
/// violation, added by test classes that run in parallel. One instance per run (an assembly fixture); when the run
/// ends it writes <c>artifacts/reliability-summary.json</c> (see <see cref="ReliabilitySummary"/>).
/// </summary>
public sealed class ReliabilityLedger : IDisposable
{
    /// <summary>What every CI run must reach (issue 3).</summary>
    public const int RequiredCrashStates = 10_000;

    /// <summary>Real SIGKILLs of a saving child process per run.</summary>
    public const int RequiredKills = 200;

    /// <summary>Injected file-system faults per run.</summary>
    public const int RequiredFaults = 100;

    private const int MaxViolationSamples = 50;
    private const int MaxViolationsKept = 20_000;

    private readonly Lock _gate = new();
    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly DateTimeOffset _startedAt = DateTimeOffset.UtcNow;
    private readonly SortedDictionary<string, WorkloadFigures> _workloads = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, long> _faultsBy = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, long> _corruptionTrials = new(StringComparer.Ordinal);
    private readonly List<string> _violationMessages = [];
    private long _violations;
    private long _faultTrials;
    private long _faults;
    private long _kills;
    private long _childStarts;
    private long _acksChecked;

    /// <summary>
    /// The seed of every sampled choice (crash states when there are too many, kill moments, corruptions). A new
    /// one each run, so successive runs explore other samples; <c>RELIABILITY_SEED</c> sets it to reproduce a run.
    /// Every violation message and the summary name it.
    /// </summary>
    public static int Seed { get; } = int.TryParse(Environment.GetEnvironmentVariable("RELIABILITY_SEED"),
        NumberStyles.Integer, CultureInfo.InvariantCulture, out int seed) ? seed : System.Security.Cryptography.RandomNumberGenerator.GetInt32(1, int.MaxValue);

    /// <summary>Creates the ledger and says which seed this run uses.</summary>
    public ReliabilityLedger() =>
        Console.Error.WriteLine($"Reliability suite seed: {Seed} (RELIABILITY_SEED={Seed} reproduces this run's samples).");

    /// <summary>Adds a workload's operation count and crash points (once per workload).</summary>
    public void RecordWorkload(string workload, string kind, int operations, int crashPoints)
    {
        lock (_gate)
        {
            WorkloadFigures figures = Figures(workload);
            figures.Kind = kind;
            figures.Operations = operations;
            figures.CrashPoints += crashPoints;
        }
    }

    /// <summary>Adds crash states that were booted, recovered and checked.</summary>
    public void RecordCrashStates(string workload, CrashModel model, int states)
    {
        lock (_gate)
        {
            WorkloadFigures figures = Figures(workload);
            figures.States[model] = figures.States.GetValueOrDefault(model) + states;
        }
    }

    /// <summary>Adds one fault-injection trial and the faults it injected.</summary>
    public void RecordFaultTrial(string fileSystem, string writePath, string operation, string error, int injected)
    {
        lock (_gate)
        {
            _faultTrials++;
            _faults += injected;
            foreach (string key in (string[])[$"file_system:{fileSystem}", $"write_path:{writePath}", $"operation:{operation}", $"error:{error}"])
            {
                _faultsBy[key] = _faultsBy.GetValueOrDefault(key) + injected;
            }
        }
    }

    /// <summary>Adds one trial of the corruption campaign: its kind of damage and how it ended.</summary>
    public void RecordCorruptionTrial(string kind, string outcome)
    {
        lock (_gate)
        {
            string key = kind + ":" + outcome;
            _corruptionTrials[key] = _corruptionTrials.GetValueOrDefault(key) + 1;
        }
    }

    /// <summary>Adds SIGKILLs, the child processes started and the acknowledged saves checked after them.</summary>
    public void RecordKills(int kills, int childStarts, long acksChecked)
    {
        lock (_gate)
        {
            _kills += kills;
            _childStarts += childStarts;
            _acksChecked += acksChecked;
        }
    }

    /// <summary>Counts a violation of an invariant; the test that found it fails with the same message.</summary>
    public void RecordViolation(string? workload, string message)
    {
        lock (_gate)
        {
            _violations++;
            if (workload is not null)
            {
                Figures(workload).Violations++;
            }

            if (_violationMessages.Count < MaxViolationsKept)
            {
                _violationMessages.Add(message);
            }
        }
    }

    /// <summary>A consistent copy of the figures so far.</summary>
    public ReliabilityTotals Totals
    {
        get
        {
            lock (_gate)
            {
                return TotalsLocked();
            }
        }
    }

    /// <summary>Writes the summary; runs once, after the last test.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            var summary = new ReliabilitySummary(Seed, _startedAt, Stopwatch.GetElapsedTime(_started), TotalsLocked(), _workloads,
                _faultTrials, _faultsBy, _childStarts, _acksChecked, _corruptionTrials, [.. _violationMessages.Take(MaxViolationSamples)]);
            summary.Write(_violationMessages);
        }
    }

    private ReliabilityTotals TotalsLocked() =>
        new(_workloads.Values.Sum(w => w.States.Values.Sum()), _kills, _faults, _violations);

    private WorkloadFigures Figures(string workload)
    {
        if (!_workloads.TryGetValue(workload, out WorkloadFigures? figures))
        {
            figures = new WorkloadFigures();
            _workloads[workload] = figures;
        }

        return figures;
    }
}

/// <summary>The four numbers CI checks.</summary>
public sealed record ReliabilityTotals(long CrashStatesChecked, long Kills, long FaultsInjected, long Violations);

/// <summary>What one crash-point workload contributed.</summary>
internal sealed class WorkloadFigures
{
    public string Kind { get; set; } = "";

    public int Operations { get; set; }

    public int CrashPoints { get; set; }

    public SortedDictionary<CrashModel, long> States { get; } = [];

    public long Violations { get; set; }
}
