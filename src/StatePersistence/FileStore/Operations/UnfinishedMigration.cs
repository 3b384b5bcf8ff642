using StatePersistence.Errors;
using StatePersistence.FileStore.Migrations;
using StatePersistence.FileSystem;

namespace StatePersistence.FileStore.Operations;

/// <summary>
/// A migration or its rollback that started and did not finish (<c>pre-migration/manifest.json</c> says
/// <c>migrating</c> or <c>rolling-back</c>): the directory may be half-migrated, and the next open, or
/// <c>statectl migrate apply</c> or <c>rollback</c>, acts on it before anything else. <c>statectl verify</c> of such a
/// directory (a <c>migrate apply</c> killed halfway) said "OK: no problems"; the readers (export, <c>statectl tasks</c>,
/// health) read it as a state (<see cref="Refusal"/>).
/// </summary>
internal static class UnfinishedMigration
{
    /// <summary>
    /// What a reader of the state throws for an unfinished run, or null when none is unfinished: a half-migrated
    /// directory exported, listed or judged healthy passes a mix of two versions off as the state (before 2026-12-07 an
    /// export of a run killed after its checkpoint, before its commit, exited 0, and its import opened as migrated). A
    /// damaged manifest throws <see cref="StateStorageException"/>, as the open does: whether a run finished is unknown.
    /// </summary>
    public static StateMigrationIncompleteException? Refusal(IFileSystem fileSystem, StateLayout layout)
    {
        var backup = new PreMigrationBackup(fileSystem, layout);
        MigrationManifest? manifest = backup.ReadManifest();
        if (manifest?.Status is not (MigrationManifest.Migrating or MigrationManifest.RollingBack))
        {
            return null;
        }

        return new StateMigrationIncompleteException(layout.Root, backup.ManifestPath, manifest.From, manifest.To,
            rollbackInterrupted: manifest.Status == MigrationManifest.RollingBack, DirectoryLockHolder.ProcessId(layout.LockFile));
    }

    /// <summary>The problem to list, or null when no run is unfinished.</summary>
    public static StateDirectoryProblem? Find(IFileSystem fileSystem, StateLayout layout)
    {
        var backup = new PreMigrationBackup(fileSystem, layout);
        MigrationManifest? manifest;
        try
        {
            manifest = backup.ReadManifest();
        }
        catch (StateStorageException ex)
        {
            // The open refuses the directory for it, naming it: so does verify.
            return new StateDirectoryProblem(backup.ManifestPath, null, ex.Message);
        }

        if (manifest?.Status is not (MigrationManifest.Migrating or MigrationManifest.RollingBack))
        {
            return null;
        }

        bool rollingBack = manifest.Status == MigrationManifest.RollingBack;
        string what = rollingBack ? $"the rollback of the migration {manifest.From} -> {manifest.To}" : $"the migration {manifest.From} -> {manifest.To} (started {manifest.StartedAt:O})";
        string advice = DirectoryLockHolder.ProcessId(layout.LockFile) is { } holder
            ? $"process {holder} holds the directory and is running it now: wait for it to finish"
            : rollingBack
                ? "run 'statectl migrate rollback' again to finish it ('statectl migrate apply', or the next start, would finish it and migrate again)"
                : "'statectl migrate apply', or the next start, rolls it back and runs it again; 'statectl migrate rollback' leaves the directory as it was before it";
        return new StateDirectoryProblem(backup.ManifestPath, null,
            $"{what} did not finish: the directory may be half-migrated, and the rest of this list is of the directory as that run left it; {advice} ('statectl migrate status' says more)");
    }
}
