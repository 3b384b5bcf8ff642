using StatePersistence.Testing.CrashSimulation;

namespace StatePersistence.CrashTests.Enumeration;

/// <summary>How a crash point ends the first process.</summary>
internal enum CrashKind
{
    /// <summary>The power goes (<see cref="CrashSimulatingFileSystem.CrashAtOperation"/>): what was not synced may be lost.</summary>
    PowerLoss,

    /// <summary>
    /// The process is killed (kill -9) but the page cache survives; a second process starts on the same disk, runs
    /// <see cref="Workload.AfterRestart"/>, and then the power goes. Finds a restarted process trusting files the dead
    /// one left in the page cache but never made durable.
    /// </summary>
    KillThenPowerLoss,
}

/// <summary>
/// A bounded workload: a few API calls whose every file-system operation becomes a crash point. Workloads are
/// deterministic (fake clock, gates for any concurrency), so crash point N is the same operation in every run.
/// </summary>
internal sealed record Workload(string Name, Func<WorkloadRun, Task> Run)
{
    /// <summary>Changes to the default options (autosave off, 2 backups).</summary>
    public Action<StatePersistenceOptions>? Configure { get; init; }

    /// <summary>The state directory; by default the simulator's root, which exists durably.</summary>
    public string StatePath { get; init; } = CrashSimulatingFileSystem.DefaultRoot;

    /// <summary>Calls made, and acknowledged, before the crash points start.</summary>
    public Func<WorkloadRun, Task>? Setup { get; init; }

    /// <summary>
    /// When set, the setup's process is abandoned, this runs on the disk (for example to corrupt a file), and a new
    /// process starts inside the crash-point phase: its start-up recovery's operations are crash points too.
    /// </summary>
    public Action<CrashSimulatingFileSystem, WorkloadModel>? BeforeRestart { get; init; }

    /// <summary>Whether start-up recovery is part of the crash-point phase (implied by <see cref="BeforeRestart"/>).</summary>
    public bool CrashDuringStart { get; init; }

    /// <summary>With <see cref="CrashKind.KillThenPowerLoss"/>: what the second process does before the power goes.</summary>
    public Func<WorkloadRun, Task>? AfterRestart { get; init; }

    public CrashKind Crash { get; init; } = CrashKind.PowerLoss;

    /// <summary>Crash states tried per crash point and model: all of them when there are fewer, else a seeded sample.</summary>
    public int StatesPerPoint { get; init; } = 48;

    /// <summary>
    /// Only check what holds without fsync (<see cref="StatePersistence.Storage.Durability.Relaxed"/>): recovery
    /// does not throw and loads nothing partial or never written; acknowledged saves may be lost.
    /// </summary>
    public bool IntegrityOnly { get; init; }

    /// <summary>Extra checks of each crash image and of the disk after recovery (for example that a corrupt file was kept).</summary>
    public Func<DurableImage, CrashSimulatingFileSystem, string?>? CheckImage { get; init; }

    /// <summary>
    /// Files whose writes may differ in byte count between two runs of the workload, so the determinism check compares
    /// their writes by path and offset alone: a gzip of AES-GCM ciphertext (a sealed task archive) compresses to a
    /// length that depends on the random nonces. Every other operation must match exactly.
    /// </summary>
    public Func<string, bool>? WriteLengthVaries { get; init; }

    public override string ToString() => Name;
}
