using StatePersistence.Errors;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.FileStore.Migrations;

/// <summary>
/// Explicit migration runs over a state directory, for operators who turn <see cref="StatePersistenceOptions.AutoMigrate"/>
/// off and migrate in a maintenance window (<c>statectl migrate status|apply|rollback</c> calls these). Apply and
/// rollback take the directory lock, so they refuse a directory a running process holds.
/// </summary>
public static class StateMigrations
{
    /// <summary>
    /// Reads where the directory stands, changing nothing (no lock is taken). Each of these reads and writes through
    /// <paramref name="codec"/>, or when it is null the codec the options call for
    /// (<see cref="StatePersistenceOptions.ResolvePayloadCodec"/>), as the store does.
    /// </summary>
    public static MigrationStatus GetStatus(StatePersistenceOptions options, IPayloadCodec? codec = null) =>
        GetStatus(options, PhysicalFileSystem.Instance, MigrationChain.Default, codec ?? Resolve(options));

    /// <summary>
    /// Migrates the directory now (pre-migration backup, steps, version update, validation, log), or finishes an
    /// interrupted run; a directory already current is only opened and closed. Whatever <see cref="StatePersistenceOptions.AutoMigrate"/> says.
    /// </summary>
    public static Task<MigrationStatus> ApplyAsync(StatePersistenceOptions options, IPayloadCodec? codec = null, TimeProvider? timeProvider = null,
        CancellationToken cancellationToken = default) =>
        ApplyAsync(options, PhysicalFileSystem.Instance, MigrationChain.Default, codec ?? Resolve(options), timeProvider, cancellationToken);

    /// <summary>
    /// Restores the directory to what it was before the last migration, byte for byte (every file's content and mode).
    /// What changed or was created since, including saves made after the migration, is moved into
    /// <c>rolled-back.&lt;timestamp&gt;/</c> in the directory, never deleted. Throws when there is no backup.
    /// </summary>
    public static Task<MigrationStatus> RollbackAsync(StatePersistenceOptions options, IPayloadCodec? codec = null, TimeProvider? timeProvider = null,
        CancellationToken cancellationToken = default) =>
        Task.FromResult(Rollback(options, PhysicalFileSystem.Instance, MigrationChain.Default, codec ?? Resolve(options), timeProvider));

    private static IPayloadCodec? Resolve(StatePersistenceOptions options) =>
        (options ?? throw new ArgumentNullException(nameof(options))).ResolvePayloadCodec();

    internal static MigrationStatus GetStatus(StatePersistenceOptions options, IFileSystem fileSystem, MigrationChain chain, IPayloadCodec? codec,
        string? outcome = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var layout = new StateLayout(options.ResolveStatePath());
        MigrationRunner runner = Runner(options, fileSystem, chain, codec, null, layout);
        MigrationPlan plan = runner.Plan(refuseLinks: false);
        MigrationManifest? last = plan.LastRun;
        // An unfinished run whose directory a process holds is being run now (a server migrating at start-up, or
        // another statectl), not interrupted: telling the operator to apply or roll back would be wrong advice.
        int? holder = Operations.DirectoryLockHolder.ProcessId(layout.LockFile);
        string? log = last is null ? null : MigrationRunner.LogName(last);
        return new MigrationStatus
        {
            StatePath = layout.Root,
            DirectoryVersion = plan.Detected.Version,
            VersionSource = plan.Detected.Source,
            CurrentVersion = StateFormat.CurrentVersion,
            PendingSteps = [.. plan.Steps.Select(s => $"{s.From} -> {s.To}: {s.Description}")],
            Interrupted = plan.Interrupted && holder is null,
            InProgress = plan.Interrupted && holder is not null,
            LockHolderProcessId = holder,
            LastRun = last is null ? null : $"{last.From} -> {last.To}",
            LastRunStatus = last?.Status,
            LogFile = log is not null && fileSystem.FileExists(Path.Combine(layout.Root, log)) ? log : null,
            CanRollBack = last?.Status is MigrationManifest.Applied or MigrationManifest.Migrating or MigrationManifest.RollingBack,
            Outcome = outcome,
            // What apply would refuse the directory for, before changing anything: said before the window, not in it.
            Blockers = MigrationRunner.WouldRefuseLinks(plan) && runner.Backup.LinksBlocker() is { } links ? [links] : [],
            UnfinishedImport = fileSystem.FileExists(layout.ImportMarkerFile)
                ? StateImportIncompleteException.Describe(layout.Root, layout.ImportMarkerFile, Operations.ImportMarker.Read(fileSystem, layout)?.Archive)
                : null,
        };
    }

    internal static async Task<MigrationStatus> ApplyAsync(StatePersistenceOptions options, IFileSystem fileSystem, MigrationChain chain, IPayloadCodec? codec,
        TimeProvider? timeProvider, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        string? migrated;
        await using (var store = new FileStateStore(options, fileSystem, codec ?? options.PayloadCodec, timeProvider) { Migrations = chain, MigrateRegardless = true })
        {
            migrated = (await store.OpenAsync(cancellationToken).ConfigureAwait(false)).Report.Migration;
        }

        return GetStatus(options, fileSystem, chain, codec, migrated is null ? "nothing to migrate" : "migrated " + migrated);
    }

    internal static MigrationStatus Rollback(StatePersistenceOptions options, IFileSystem fileSystem, MigrationChain chain, IPayloadCodec? codec,
        TimeProvider? timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        var layout = new StateLayout(options.ResolveStatePath());
        TimeProvider time = timeProvider ?? TimeProvider.System;
        MigrationRunner runner = Runner(options, fileSystem, chain, codec, time, layout);
        string outcome;
        using (DirectoryLock.Acquire(fileSystem, layout, time))
        {
            MigrationManifest manifest = runner.Backup.ReadManifest()
                ?? throw new StatePersistenceException($"There is no migration to roll back in '{layout.Root}': it holds no pre-migration backup ({runner.Backup.ManifestPath}).", layout.Root);
            // A directory a newer build wrote since the migration is refused as every other use of it is (Plan throws,
            // nothing changed): putting the pre-migration copy back would discard all of it.
            runner.Plan(refuseLinks: false);
            if (manifest.Status == MigrationManifest.RolledBack)
            {
                throw new StatePersistenceException($"The migration {manifest.From} -> {manifest.To} of '{layout.Root}' was already rolled back; nothing was changed.", layout.Root);
            }

            (int restored, int removed) = runner.RollBack(manifest, "asked for: statectl migrate rollback");
            outcome = $"rolled back {manifest.From} -> {manifest.To}: {restored} file(s) restored, "
                + (manifest.DiscardedTo is { } folder ? $"{removed} changed or created since moved to {folder}/" : $"{removed} removed");
        }

        return GetStatus(options, fileSystem, chain, codec, outcome);
    }

    private static MigrationRunner Runner(StatePersistenceOptions options, IFileSystem fileSystem, MigrationChain chain, IPayloadCodec? codec,
        TimeProvider? time, StateLayout layout)
    {
        codec ??= options.PayloadCodec;
        return new MigrationRunner(fileSystem, layout, PayloadEnvelope.For(codec), time ?? TimeProvider.System, chain);
    }
}
