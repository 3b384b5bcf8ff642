namespace StatePersistence.Testing.CrashSimulation;

/// <summary>The kinds of operation a <see cref="CrashSimulatingFileSystem"/> numbers and logs.</summary>
internal enum SimulatedOperationKind
{
    /// <summary><see cref="FileSystem.IFileSystem.CreateDirectory"/>.</summary>
    CreateDirectory,

    /// <summary><see cref="FileSystem.IFileSystem.Open"/> in any mode but read-only (it may create or truncate).</summary>
    Open,

    /// <summary><see cref="FileSystem.IFileHandle.Write"/>.</summary>
    Write,

    /// <summary><see cref="FileSystem.IFileHandle.SetLength"/>.</summary>
    SetLength,

    /// <summary><see cref="FileSystem.IFileHandle.Sync"/> (fsync of a file).</summary>
    Sync,

    /// <summary><see cref="FileSystem.IFileSystem.Rename"/>.</summary>
    Rename,

    /// <summary><see cref="FileSystem.IFileSystem.Link"/> (a hard link: a second name for a file).</summary>
    Link,

    /// <summary><see cref="FileSystem.IFileSystem.Delete"/>.</summary>
    Delete,

    /// <summary><see cref="FileSystem.IFileSystem.SyncDirectory"/> (fsync of a directory).</summary>
    SyncDirectory,

    /// <summary><see cref="FileSystem.IFileSystem.AcquireLock"/> (it creates the lock file when missing).</summary>
    AcquireLock,

    /// <summary>
    /// <see cref="FileSystem.IFileSystem.SyncFiles"/> of a batch large enough for syncfs(2): one call makes every
    /// listed file's data durable.
    /// </summary>
    SyncFileSystem,
}

/// <summary>One numbered entry of the operation log.</summary>
/// <param name="Number">1-based position in the log; <see cref="CrashSimulatingFileSystem.CrashAtOperation"/> takes it.</param>
/// <param name="Kind">What the operation is.</param>
/// <param name="Path">The file or directory (the source of a rename or link).</param>
/// <param name="DestinationPath">The destination of a rename, the new name of a link; otherwise null.</param>
/// <param name="Offset">The offset of a write, the new length of a SetLength; otherwise 0.</param>
/// <param name="Length">The byte count of a write; otherwise 0.</param>
internal sealed record SimulatedOperation(int Number, SimulatedOperationKind Kind, string Path, string? DestinationPath = null, long Offset = 0, int Length = 0)
{
    /// <summary>A short description such as <c>#3 Write /sim/state/a [0, +5)</c>.</summary>
    public override string ToString() => Kind switch
    {
        SimulatedOperationKind.Rename => $"#{Number} Rename {Path} -> {DestinationPath}",
        SimulatedOperationKind.Link => $"#{Number} Link {Path} -> {DestinationPath}",
        SimulatedOperationKind.Write => $"#{Number} Write {Path} [{Offset}, +{Length})",
        SimulatedOperationKind.SetLength => $"#{Number} SetLength {Path} {Offset}",
        _ => $"#{Number} {Kind} {Path}",
    };
}
