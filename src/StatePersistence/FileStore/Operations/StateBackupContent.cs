using StatePersistence.Model;

namespace StatePersistence.FileStore.Operations;

/// <summary>
/// A backup read and checked by <see cref="StateBackups.Read"/> before anything is opened: its name, the revision it
/// was at and the state it holds, ready for <see cref="StateBackups.RestoreAsync(StatePersistenceService, StateBackupContent, CancellationToken)"/>.
/// Read first because opening the directory runs start-up recovery, which can write (a checkpoint, journal segments,
/// item files): a restore that is refused must be refused before that.
/// </summary>
public sealed class StateBackupContent
{
    internal StateBackupContent(string name, long revision, PersistedState state)
    {
        Name = name;
        Revision = revision;
        State = state;
    }

    /// <summary>The backup's file name (<c>state.backup.&lt;timestamp&gt;.json</c>).</summary>
    public string Name { get; }

    /// <summary>The revision the backup's state was at.</summary>
    public long Revision { get; }

    internal PersistedState State { get; }
}
