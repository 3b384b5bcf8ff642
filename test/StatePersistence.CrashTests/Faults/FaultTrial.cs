using StatePersistence.CrashTests.Enumeration;
using StatePersistence.CrashTests.Support;
using StatePersistence.Diagnostics;
using StatePersistence.FileSystem;
using StatePersistence.Testing.CrashSimulation;
using StatePersistence.Testing.FaultInjection;

namespace StatePersistence.CrashTests.Faults;

/// <summary>
/// One state directory under fault injection: on the real disk (a temp directory) or on the crash simulator, seen
/// through a <see cref="FaultInjectingFileSystem"/>. Processes come and go on it; calls are modelled so that after
/// every fault the test knows what must still be there.
/// </summary>
internal sealed class FaultTrial : ModelledCalls, IAsyncDisposable
{
    private readonly TempDirectory? _temp;
    private readonly FaultWritePath _path;
    private readonly WorkloadClock _time = new();
    private StatePersistenceService? _service;

    public FaultTrial(bool simulated, FaultWritePath path)
    {
        _path = path;
        if (simulated)
        {
            Simulator = new CrashSimulatingFileSystem();
            Disk = Simulator;
            StatePath = CrashSimulatingFileSystem.DefaultRoot;
        }
        else
        {
            _temp = new TempDirectory();
            Disk = PhysicalFileSystem.Instance;
            StatePath = _temp.File("state");
        }

        // On the real disk a failed fsync leaves its pages readable but not durable, as Linux does; the simulator
        // models that itself.
        Faults = new FaultInjectingFileSystem(Disk)
        {
            FailedSyncModel = simulated ? FailedSyncModel.RollBack : FailedSyncModel.KeepReadableNotDurable,
        };
    }

    /// <summary>The disk without faults.</summary>
    public IFileSystem Disk { get; }

    /// <summary>The simulator, when the trial runs on one (then a power cut can follow the fault).</summary>
    public CrashSimulatingFileSystem? Simulator { get; }

    public FaultInjectingFileSystem Faults { get; }

    public string StatePath { get; }

    /// <summary>StateSaveError events of the current process.</summary>
    public List<StateSaveErrorEventArgs> SaveErrors { get; } = [];

    public StatePersistenceService Service => _service ?? throw new InvalidOperationException("No process is running.");

    protected override StatePersistenceService Current => Service;

    /// <summary>Starts a process on the disk, through the fault injector unless <paramref name="withoutFaults"/>.</summary>
    public async Task StartAsync(bool withoutFaults = false)
    {
        await StopAsync();
        SaveErrors.Clear();
        StatePersistenceOptions options = Services.Options(StatePath, _path.Configure);
        _service = Services.Create(options, withoutFaults ? Disk : Faults, _time);
        _service.StateSaveError += (_, e) => SaveErrors.Add(e);
        await _service.StartAsync();
    }

    /// <summary>Ends the current process without a final snapshot, as a crash or kill would.</summary>
    public async Task StopAsync()
    {
        if (_service is not null)
        {
            await Services.AbandonAsync(_service);
            _service = null;
        }
    }

    /// <summary>
    /// Leaves what start-up recovery must repair, so a fault can hit each of its writes: a corrupt state.json to
    /// quarantine, a temp file to remove and a NUL tail to trim.
    /// </summary>
    public void LeaveWorkForRecovery()
    {
        string state = Path.Combine(StatePath, "state.json");
        byte[] bytes = Disk.ReadAllBytes(state);
        Overwrite(state, bytes.AsSpan(0, bytes.Length / 2), append: false);
        Overwrite(Path.Combine(StatePath, "tasks", "zz.json.tmp"), "{\"id\":"u8, append: false);
        Overwrite(Path.Combine(StatePath, "logs", "session_s1.log"), new byte[4], append: true);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _temp?.Dispose();
    }

    private void Overwrite(string path, ReadOnlySpan<byte> bytes, bool append)
    {
        using (IFileHandle handle = Disk.Open(path, append ? FileOpenMode.OpenOrCreate : FileOpenMode.CreateOrTruncate))
        {
            handle.Write(append ? handle.Length : 0, bytes);
            handle.Sync();
        }

        Disk.SyncDirectory(Path.GetDirectoryName(path)!);
    }
}
