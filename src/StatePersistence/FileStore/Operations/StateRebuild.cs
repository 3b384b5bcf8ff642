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
        await service.StartAsync(cancellationToken).ConfigureAwait(false);
        (IReadOnlyCollection<string> Tasks, IReadOnlyCollection<string> Sessions)? before = store.StateFileIds();
        await service.SaveSnapshotAsync(cancellationToken).ConfigureAwait(false);
        IReadOnlyList<string> tasks = [.. (await service.LoadTasksAsync(cancellationToken).ConfigureAwait(false)).Select(t => t.Id)];
        IReadOnlyList<string> sessions = [.. (await service.LoadSessionsAsync(cancellationToken).ConfigureAwait(false)).Select(s => s.Id)];
        return new StateRebuildResult(tasks.Count, sessions.Count,
            Except(tasks, before?.Tasks), Except(before?.Tasks ?? [], tasks),
            Except(sessions, before?.Sessions), Except(before?.Sessions ?? [], sessions),
            before is null ? null : store.NewestBackupName(), service.LastRecovery!);
    }

    private static List<string> Except(IEnumerable<string> ids, IEnumerable<string>? others) =>
        [.. ids.Except(others ?? [], StringComparer.Ordinal).Order(StringComparer.Ordinal)];
}

/// <summary>
/// What <see cref="StateRebuild.RunAsync(StatePersistenceOptions, ILoggerFactory?, CancellationToken)"/> did: the rebuilt
/// counts, the ids it added (files <c>state.json</c> did not list, such as files added by hand) and dropped (ids
/// <c>state.json</c> listed without a file or journal record), the backup now holding the old <c>state.json</c>
/// (null when there was none or it did not parse), and the recovery report (files moved aside, warnings).
/// </summary>
public sealed record StateRebuildResult(int Tasks, int Sessions, IReadOnlyList<string> AddedTasks, IReadOnlyList<string> DroppedTasks,
    IReadOnlyList<string> AddedSessions, IReadOnlyList<string> DroppedSessions, string? PreviousStateBackup, RecoveryReport Recovery);
