using StatePersistence.Recovery;

namespace StatePersistence.Diagnostics;

/// <summary>A snapshot (or a task, session or report) was written durably.</summary>
public sealed class StateSavedEventArgs(string what, string path, long revision, TimeSpan duration) : EventArgs
{
    /// <summary>What was saved: <c>snapshot</c>, <c>task</c>, <c>session</c> or <c>report</c>.</summary>
    public string What { get; } = what;

    /// <summary>The file written or, for journaled items, the journal.</summary>
    public string Path { get; } = path;

    /// <summary>The revision the save reached.</summary>
    public long Revision { get; } = revision;

    /// <summary>How long the save took.</summary>
    public TimeSpan Duration { get; } = duration;
}

/// <summary>The state was loaded at start-up.</summary>
public sealed class StateLoadedEventArgs(RecoveryReport report, TimeSpan duration) : EventArgs
{
    /// <summary>What recovery used and found.</summary>
    public RecoveryReport Report { get; } = report;

    /// <summary>How long loading took.</summary>
    public TimeSpan Duration { get; } = duration;
}

/// <summary>A save failed. Previously saved data is intact; the failed change is not stored.</summary>
public sealed class StateSaveErrorEventArgs(string operation, string? path, Exception error) : EventArgs
{
    /// <summary>What failed, for example <c>save-task</c>, <c>append-log</c> or <c>snapshot</c> (an autosave is a <c>snapshot</c>).</summary>
    public string Operation { get; } = operation;

    /// <summary>The file involved, when known.</summary>
    public string? Path { get; } = path;

    /// <summary>The cause.</summary>
    public Exception Error { get; } = error;
}

/// <summary>The autosave timer fired and found changes to snapshot.</summary>
public sealed class AutosaveTriggeredEventArgs(long revision) : EventArgs
{
    /// <summary>The revision about to be snapshotted.</summary>
    public long Revision { get; } = revision;
}

/// <summary>The final snapshot on shutdown was written (or failed: see <see cref="Error"/>).</summary>
public sealed class ShutdownSaveEventArgs(long revision, Exception? error) : EventArgs
{
    /// <summary>The revision written.</summary>
    public long Revision { get; } = revision;

    /// <summary>Why the final snapshot failed, or null. Acknowledged saves are in the journal either way.</summary>
    public Exception? Error { get; } = error;
}

/// <summary>A corrupt file was found and moved aside.</summary>
public sealed class CorruptionDetectedEventArgs(QuarantinedFile file) : EventArgs
{
    /// <summary>The file, where it went and why.</summary>
    public QuarantinedFile File { get; } = file;
}

/// <summary>Recovery finished after finding corruption or loss; the report says what was used and what was lost.</summary>
public sealed class StateRecoveredEventArgs(RecoveryReport report) : EventArgs
{
    /// <summary>The recovery report.</summary>
    public RecoveryReport Report { get; } = report;
}
