using System.Text;
using System.Text.Json;
using StatePersistence.Errors;
using StatePersistence.FileSystem;
using StatePersistence.Recovery;
using StatePersistence.Serialization;

namespace StatePersistence.FileStore.Operations;

/// <summary>
/// A state directory's health as the server's health check judges it, found from the directory alone and without
/// changing it (no probe file, no lock): Unhealthy when it is missing, files cannot be created in it (this user may
/// not, by access(2), or its volume is full: no block or no inode left, where the server's probe file fails with
/// ENOSPC), or it holds an unfinished import (the store refuses to open it), Degraded when
/// free space is below <see cref="LowDiskSpaceBytes"/>, the last start-up recovery found corruption, or a read of the
/// state found problems.
/// </summary>
public sealed record StateDirectoryHealth
{
    /// <summary>The free-space threshold the server's health check uses by default (100 MiB).</summary>
    public const long DefaultLowDiskSpaceBytes = 100L * 1024 * 1024;

    /// <summary>The directory, as an absolute path.</summary>
    public required string StateDirectory { get; init; }

    /// <summary>Healthy, Degraded or Unhealthy; <see cref="Reasons"/> says why when not Healthy.</summary>
    public required StateHealthStatus Status { get; init; }

    /// <summary>Why the status is not Healthy, one sentence each.</summary>
    public required IReadOnlyList<string> Reasons { get; init; }

    /// <summary>Whether the directory exists.</summary>
    public required bool Exists { get; init; }

    /// <summary>
    /// Whether this process can create files in it: it may (asked of the operating system with access(2)) and its
    /// volume has a block and an inode free for them. Nothing is written to find out.
    /// </summary>
    public required bool Writable { get; init; }

    /// <summary>Free bytes on its volume for this user.</summary>
    public long? FreeBytes { get; init; }

    /// <summary>The threshold below which free space makes the directory Degraded.</summary>
    public required long LowDiskSpaceBytes { get; init; }

    /// <summary>The process holding the directory's writer lock now (Linux), or null when none does.</summary>
    public int? LockHolderProcessId { get; init; }

    /// <summary>What <c>.lock.owner</c> says: the last process that took the lock (it stays after that process ends).</summary>
    public string? LastLockOwner { get; init; }

    /// <summary>Disk use per kind of file.</summary>
    public StateDiskUsage? Usage { get; init; }

    /// <summary>The state's revision, as a read of the directory finds it.</summary>
    public long? Revision { get; init; }

    /// <summary>Tasks in the state.</summary>
    public int? Tasks { get; init; }

    /// <summary>Sessions in the state.</summary>
    public int? Sessions { get; init; }

    /// <summary>The last start-up recovery report (<c>recovery-report.json</c>, written when recovery found damage or dropped or cut bytes).</summary>
    public RecoveryReport? LastRecovery { get; init; }

    /// <summary>
    /// Whether <see cref="LastRecovery"/> is from a start before the last one (the lock owner took the directory after
    /// it began): the starts since found nothing to report, so the corruption it names no longer makes the directory
    /// Degraded, as a server started since does not report it either. What it moved aside is still where it says.
    /// </summary>
    public bool LastRecoveryIsFromAnEarlierStart { get; init; }

    /// <summary>
    /// Why the state (revision, counts, problems) was not read, or null when it was: it is sealed with a codec
    /// (encrypted) and no codec was given. Not a fault of the directory (a server with the key opens it), so it leaves
    /// <see cref="Status"/> as the rest of the inspection found it.
    /// </summary>
    public string? StateNotRead { get; init; }

    /// <summary>What the read of the state found wrong (see <see cref="StateDirectoryReader"/>).</summary>
    public IReadOnlyList<StateDirectoryProblem> Problems { get; init; } = [];

    /// <summary>Inspects <paramref name="stateDirectory"/>; never throws for what it finds, only for a bad argument.</summary>
    public static StateDirectoryHealth Inspect(string stateDirectory, long lowDiskSpaceBytes = DefaultLowDiskSpaceBytes,
        IPayloadCodec? codec = null) =>
        Inspect(stateDirectory, lowDiskSpaceBytes, codec, PhysicalFileSystem.Instance);

    /// <summary>Inspects <paramref name="stateDirectory"/>, asking <paramref name="fileSystem"/> how full its volume is (the tests' fault injector).</summary>
    internal static StateDirectoryHealth Inspect(string stateDirectory, long lowDiskSpaceBytes, IPayloadCodec? codec, IFileSystem fileSystem)
    {
        ArgumentException.ThrowIfNullOrEmpty(stateDirectory);
        var layout = new StateLayout(Path.GetFullPath(stateDirectory));
        if (!Directory.Exists(layout.Root))
        {
            return new StateDirectoryHealth
            {
                StateDirectory = layout.Root, Status = StateHealthStatus.Unhealthy, Exists = false, Writable = false,
                LowDiskSpaceBytes = lowDiskSpaceBytes, Reasons = [StateDirectoryAbsence.Describe(layout.Root)],
            };
        }

        var reasons = new List<string>();
        var status = StateHealthStatus.Healthy;
        void Degrade(string reason, StateHealthStatus to = StateHealthStatus.Degraded)
        {
            reasons.Add(reason);
            status = (StateHealthStatus)Math.Max((int)status, (int)to);
        }

        if (!StateDirectorySigns.Any(layout.Root))
        {
            // The empty mount point of a volume that did not mount, a mistyped path: a server started on it starts empty,
            // serving none of the state. Before, Healthy at revision 0.
            Degrade($"'{layout.Root}' is not a state directory: it holds no state.json, backup, or folder of the store; a server started on it would start with an empty state.",
                StateHealthStatus.Unhealthy);
        }

        bool permitted = OperatingSystem.IsWindows() ? !new DirectoryInfo(layout.Root).Attributes.HasFlag(FileAttributes.ReadOnly) : PosixNative.CanCreateFilesIn(layout.Root);
        if (!permitted)
        {
            Degrade($"Files cannot be created in the state directory '{layout.Root}' by this user.", StateHealthStatus.Unhealthy);
        }

        long free = fileSystem.GetAvailableFreeSpace(layout.Root);
        string? full = VolumeFull(layout.Root, free, fileSystem.GetAvailableFreeFiles(layout.Root));
        if (full is not null)
        {
            Degrade(full, StateHealthStatus.Unhealthy);
        }

        bool writable = permitted && full is null;
        if (free < lowDiskSpaceBytes)
        {
            Degrade($"Free disk space ({free} bytes) is below the threshold ({lowDiskSpaceBytes} bytes).");
        }

        RecoveryReport? recovery = ReadRecoveryReport(layout, Degrade);
        string? lastOwner = File.Exists(layout.LockOwnerFile) ? Encoding.UTF8.GetString(File.ReadAllBytes(layout.LockOwnerFile)).Trim() : null;

        // The report stays until a start finds something again, but a server judges only its own start: once the lock
        // was taken after the report's start (every start takes it first), the starts since found nothing.
        bool earlier = recovery is not null && DirectoryLock.TakenAt(lastOwner) is { } taken && taken > recovery.StartedAt;
        if (recovery is { CorruptionDetected: true } && !earlier)
        {
            Degrade($"The last start-up recovery ({recovery.StartedAt:O}) found corruption: {recovery.Quarantined.Count} file(s) moved aside, {recovery.Lost.Count} loss(es) reported (see '{layout.RecoveryReportFile}').");
        }

        StateDirectoryView? view = null;
        string? notRead = null;
        try
        {
            view = StateDirectoryReader.ReadDirectory(fileSystem, layout.Root, codec, checkItemFiles: false, StateDirectoryReader.DefaultMaxAttempts,
                refuseUnfinished: true, Thread.Sleep);
            if (view.Problems.Count > 0)
            {
                Degrade($"Reading the state found {view.Problems.Count} problem(s); 'statectl verify' lists them.");
            }
        }
        catch (StateImportIncompleteException ex)
        {
            Degrade(ex.Message, StateHealthStatus.Unhealthy);
        }
        catch (StateMigrationIncompleteException ex)
        {
            // Half-migrated files: nothing a server or a reader may serve until the run is finished or rolled back.
            Degrade(ex.Message, StateHealthStatus.Unhealthy);
        }
        catch (StateFormatException ex) when (ex.ReaderLacksCodec)
        {
            notRead = $"The state is sealed with the codec '{ex.WrittenWithCodec}' (encryption at rest) and no codec was given to read it: its revision, counts and problems were not read.";
        }
        catch (StateFormatException ex)
        {
            Degrade(ex.Message, StateHealthStatus.Unhealthy);
        }
        catch (StateStorageException ex) when (!ex.IsTransient)
        {
            // A file of the state the file system refuses to read (permissions, an I/O error): a server started as this
            // user fails to open the directory on it too. Before, Degraded and exit 0 for a server that cannot start.
            Degrade($"The state cannot be read, so a server started as this user cannot open the directory either: {ex.Message}", StateHealthStatus.Unhealthy);
        }
        catch (StateStorageException ex)
        {
            Degrade(ex.Message); // the read overtaken by checkpoints again and again: a running server's, not a fault
        }
        catch (Exception ex) when (UnreadableFile.IsRefusal(ex))
        {
            // The journal's segments are read by the journal's own reader, which lets the refusal through: without this
            // the inspection threw, and statectl printed that one line instead of the health it had found.
            Degrade($"The state cannot be read, so a server started as this user cannot open the directory either: a file cannot be read ({ex.Message.TrimEnd('.')}); check its permissions and the disk (dmesg)",
                StateHealthStatus.Unhealthy);
        }

        StateDiskUsage? usage = null;
        try
        {
            usage = StateDiskUsage.Measure(layout.Root);
        }
        catch (Exception ex) when (UnreadableFile.IsRefusal(ex))
        {
            // A folder this user may not list (another user's, mode 0700): the rest of the inspection still stands.
            Degrade($"The disk use of '{layout.Root}' could not be measured: {ex.Message.TrimEnd('.')}; 'statectl du' fails the same way.");
        }

        return new StateDirectoryHealth
        {
            StateDirectory = layout.Root,
            Status = status,
            Reasons = reasons,
            Exists = true,
            Writable = writable,
            FreeBytes = free,
            LowDiskSpaceBytes = lowDiskSpaceBytes,
            LockHolderProcessId = DirectoryLockHolder.ProcessId(layout.LockFile),
            LastLockOwner = lastOwner,
            Usage = usage,
            Revision = view?.View.Revision,
            Tasks = view?.View.Tasks.Count,
            Sessions = view?.View.Sessions.Count,
            LastRecovery = recovery,
            LastRecoveryIsFromAnEarlierStart = earlier,
            StateNotRead = notRead,
            Problems = view?.Problems ?? [],
        };
    }

    /// <summary>
    /// Why no file can be written in <paramref name="root"/> for want of space, or null when one can. Free space is
    /// counted in whole blocks of the file system (statvfs f_bavail times the block size), and the least any write takes
    /// is one block: none free means the server's probe file (created, then written) fails with ENOSPC, and so does every
    /// save. So does every create when no inode is free, whatever the bytes. The free space is what a process without
    /// CAP_SYS_RESOURCE gets, as the server's own figures and its quota count it; one with it (root outside a container)
    /// may still write into the blocks ext4 reserves.
    /// </summary>
    private static string? VolumeFull(string root, long freeBytes, long? freeFiles)
    {
        const string ServerSays = "the server's health check finds it not writable (No space left on device)";
        if (freeBytes <= 0)
        {
            return $"No file can be written in the state directory '{root}': {freeBytes} bytes are free on its volume, less than the one block any write takes; {ServerSays}.";
        }

        return freeFiles <= 0
            ? $"No file can be created in the state directory '{root}': {freeFiles} inodes are free on its volume ({freeBytes} bytes are); {ServerSays}."
            : null;
    }

    private static RecoveryReport? ReadRecoveryReport(StateLayout layout, Action<string, StateHealthStatus> degrade)
    {
        if (!File.Exists(layout.RecoveryReportFile))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(layout.RecoveryReportFile), StateJsonContext.Default.RecoveryReport);
        }
        catch (JsonException ex)
        {
            degrade($"The recovery report '{layout.RecoveryReportFile}' does not parse ({ex.Message}).", StateHealthStatus.Degraded);
            return null;
        }
    }
}
