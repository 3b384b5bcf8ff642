using StatePersistence.CrashTests.Support;
using StatePersistence.Testing.CrashSimulation;

namespace StatePersistence.CrashTests.Enumeration;

/// <summary>
/// One run of a workload on a simulated disk: the current process (its view of the disk and its service), the fake
/// clock, and the model of what was written (the calls themselves are in <see cref="ModelledCalls"/>).
/// </summary>
internal sealed partial class WorkloadRun(Workload workload, CrashSimulatingFileSystem disk) : ModelledCalls
{
    private StatePersistenceService? _service;

    public CrashSimulatingFileSystem Disk => disk;

    public ProcessFileSystem Process { get; private set; } = new(disk);

    public WorkloadClock Time { get; } = new();

    /// <summary>Timers created before the current process started; its autosave timer is the next one.</summary>
    public int TimersBeforeProcess { get; private set; }

    public StatePersistenceService Service => _service ?? throw new InvalidOperationException("No process is running.");

    /// <summary>The power went, or this process was killed: later calls cannot succeed.</summary>
    public bool Crashed => disk.HasCrashed || Process.IsKilled;

    public StatePersistenceOptions NewOptions() => Services.Options(workload.StatePath, workload.Configure);

    /// <summary>Starts a process on the disk as it is now (page cache included) and runs its start-up recovery.</summary>
    public async Task StartProcessAsync()
    {
        Process = new ProcessFileSystem(disk);
        TimersBeforeProcess = Time.TimersCreated;
        _service = Services.Create(NewOptions(), Process, Time);
        try
        {
            await _service.StartAsync();
        }
        catch (Exception ex) when (Crashed)
        {
            throw new WorkloadStoppedException("start-up recovery", ex);
        }
    }

    /// <summary>Leaves the current process without a final snapshot, as a crash would.</summary>
    public async Task AbandonProcessAsync()
    {
        Process.ReleaseAll();
        if (_service is not null)
        {
            await Services.AbandonAsync(_service);
            _service = null;
        }
    }

    public void StopIfCrashed()
    {
        if (Crashed)
        {
            throw new WorkloadStoppedException("a later step", null);
        }
    }

    protected override StatePersistenceService Current => Service;

    /// <summary>A call the crash interrupted ends the run; any other failure is the library's and propagates.</summary>
    protected override Exception? Interrupted(ModelOp op, Exception error) =>
        Crashed ? new WorkloadStoppedException(op.Description, error) : null;
}

/// <summary>Ends a run at its crash point: the call in flight failed because the power went or the process died.</summary>
internal sealed class WorkloadStoppedException(string step, Exception? cause)
    : Exception($"The workload stopped at '{step}' because of the crash.", cause);
