using StatePersistence.Commit;
using StatePersistence.FileStore.Migrations;
using StatePersistence.Recovery;
using StatePersistence.Storage;

namespace StatePersistence.FileStore;

/// <summary>The migration of an older directory, run by <see cref="OpenAsync"/> (see <see cref="MigrationRunner"/>).</summary>
public sealed partial class FileStateStore
{
    /// <summary>The migration chain opening runs (a test registers its own through this seam).</summary>
    internal MigrationChain Migrations { get; init; } = MigrationChain.Default;

    /// <summary>Migrates even when <see cref="StatePersistenceOptions.AutoMigrate"/> is off: the explicit run.</summary>
    internal bool MigrateRegardless { get; init; }

    /// <summary>
    /// The end of a migration, once recovery has read the migrated directory: what recovery found goes in the
    /// migration log, a checkpoint writes <c>state.json</c> at the current version (the version update), and the
    /// runner validates and commits. Returns the checkpoint's saved time: the <c>last_saved</c> of the state from now on.
    /// </summary>
    private async ValueTask<DateTimeOffset> FinishMigrationAsync(MigrationRunner migrations, PendingMigration migration, StateView view, RecoveryReport report,
        CancellationToken cancellationToken)
    {
        List<string> log = migration.Context.Log;
        log.Add($"recovery: {view.Tasks.Count} task(s) and {view.Sessions.Count} session(s) loaded from {report.SnapshotSource}"
            + (report.RebuiltFromItemFiles ? " and the task and session files" : ""));
        log.AddRange(report.Warnings.Select(w => "  warning: " + w));
        log.AddRange(report.Quarantined.Select(q => $"  moved aside: {q.OriginalPath} to {q.QuarantinePath} ({q.Reason})"));
        log.AddRange(report.RestoredFromBackup.GroupBy(r => (r.Source, r.Kind)).Select(g =>
            $"  taken from {g.Key.Source} (possibly stale): {g.Count()} {g.Key.Kind}(s) {string.Join(", ", g.Select(r => r.Id))}"));
        log.AddRange(report.Lost.Select(l => "  lost: " + l));
        await BeginCheckpointAsync(view.Revision, cancellationToken).ConfigureAwait(false);
        // Every item file written anew, in this library's format: recovery read the older files as they are (a Node
        // task file indented and without an envelope, no session file where a session lived only in state.json), and
        // left as they were, the next start moved the indented ones aside as hand edits.
        _filesView = StateView.Empty;
        DateTimeOffset savedAt = _time.GetUtcNow();
        await WriteCheckpointAsync(view, savedAt, Durability.Full, cancellationToken).ConfigureAwait(false);
        log.Add($"version: state.json written as {Model.StateFormat.CurrentVersion} at revision {view.Revision} (the one it replaces is now the newest backup)");
        migrations.Complete(migration, view, _logs.Digest);
        report.Quarantined.InsertRange(0, migration.Context.Quarantined);
        report.Migration = $"{migration.Manifest.From} -> {migration.Manifest.To}; see {MigrationRunner.LogName(migration.Manifest)}";
        return savedAt;
    }
}
