using Microsoft.Extensions.Logging;
using StatePersistence.FileSystem;
using StatePersistence.Recovery;

namespace StatePersistence.FileStore.Operations;

/// <summary>
/// Rebuilds <c>state.json</c> from the task and session files and the journal (the seed's "delete state.json to force
/// a rebuild", without deleting anything): the valid files of <c>tasks/</c> and <c>sessions/</c> are the state,
/// including ones added by hand, with the journal replayed over them; the old <c>state.json</c> is the first fallback
/// for a corrupt item file and for the application's fields, and becomes the newest backup when the rebuilt state is
/// written. A crash before that leaves the old <c>state.json</c> in place, and the rebuild can be run again.
/// </summary>
public static class StateRebuild
{
    /// <summary>
    /// Takes the directory's writer lock (<see cref="Errors.StateDirectoryLockedException"/> while a server runs),
    /// rebuilds, writes the rebuilt state as a snapshot and releases the directory. The result names the ids the
    /// rebuild added to or dropped from what <c>state.json</c> held.
    /// </summary>
    public static Task<StateRebuildResult> RunAsync(StatePersistenceOptions options, ILoggerFactory? loggerFactory = null,
        CancellationToken cancellationToken = default) =>
        RunAsync(options, PhysicalFileSystem.Instance, loggerFactory, null, cancellationToken);

    internal static async Task<StateRebuildResult> RunAsync(StatePersistenceOptions options, IFileSystem fileSystem,
        ILoggerFactory? loggerFactory, TimeProvider? timeProvider, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var store = new FileStateStore(options, fileSystem, options.ResolvePayloadCodec(), timeProvider, loggerFactory?.CreateLogger<FileStateStore>())
        {
            RebuildOnOpen = true,
        };
        await using var service = new StatePersistenceService(options, store, loggerFactory, timeProvider);

        // What an ordinary start would have recovered (state.json and the journal after it), read before the rebuild
        // changes anything: the report is the difference, so records replayed from the journal (a directory left by a
        // kill) are not reported as added, only what the item files alone bring or lose.
        Commit.StateView recoverable = store.ReadAsRecoveryWould();
        await service.StartAsync(cancellationToken).ConfigureAwait(false);
        bool hadStateFile = store.StateFileIds() is not null;
        await service.SaveSnapshotAsync(cancellationToken).ConfigureAwait(false);
        IReadOnlyList<string> tasks = [.. (await service.LoadTasksAsync(cancellationToken).ConfigureAwait(false)).Select(t => t.Id)];
        IReadOnlyList<string> sessions = [.. (await service.LoadSessionsAsync(cancellationToken).ConfigureAwait(false)).Select(s => s.Id)];
        return new StateRebuildResult(tasks.Count, sessions.Count,
            Except(tasks, recoverable.Tasks.Keys), Except(recoverable.Tasks.Keys, tasks),
            Except(sessions, recoverable.Sessions.Keys), Except(recoverable.Sessions.Keys, sessions),
            hadStateFile ? store.NewestBackupName() : null, service.LastRecovery!);
    }

    private static List<string> Except(IEnumerable<string> ids, IEnumerable<string> others) =>
        [.. ids.Except(others, StringComparer.Ordinal).Order(StringComparer.Ordinal)];
}

/// <summary>
/// What <see cref="StateRebuild.RunAsync(StatePersistenceOptions, ILoggerFactory?, CancellationToken)"/> did: the rebuilt
/// counts; the ids it added and dropped compared with what an ordinary start would have recovered from
/// <c>state.json</c> and the journal (added: item files neither holds, such as files added by hand; dropped: ids
/// <c>state.json</c> listed without a file or journal record); the backup now holding the old <c>state.json</c>
/// (null when there was none or it did not parse), and the recovery report (files moved aside, warnings).
/// </summary>
public sealed record StateRebuildResult(int Tasks, int Sessions, IReadOnlyList<string> AddedTasks, IReadOnlyList<string> DroppedTasks,
    IReadOnlyList<string> AddedSessions, IReadOnlyList<string> DroppedSessions, string? PreviousStateBackup, RecoveryReport Recovery);
