using System.Globalization;
using System.Text;
using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.FileStore.Snapshot;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;
using StatePersistence.Storage;

namespace StatePersistence.FileStore.Migrations;

/// <summary>What a directory needs: its version, the steps to the current one, and the last run's manifest.</summary>
internal sealed record MigrationPlan(DetectedVersion Detected, IReadOnlyList<StateMigration> Steps, MigrationManifest? LastRun)
{
    /// <summary>A run or a rollback started and never finished (a crash, a failure): it is rolled back before anything else.</summary>
    public bool Interrupted => LastRun?.Status is MigrationManifest.Migrating or MigrationManifest.RollingBack;

    /// <summary>Whether opening the directory would migrate it (or finish an interrupted run).</summary>
    public bool Pending => Steps.Count > 0 || Interrupted;
}

/// <summary>A run whose steps are done; the version update (a checkpoint) and validation remain.</summary>
internal sealed record PendingMigration(MigrationManifest Manifest, MigrationContext Context);

/// <summary>
/// Runs the migration chain over a state directory, crash-safely: (1) the pre-migration backup of every file,
/// durable before its manifest says <c>migrating</c>; (2) the steps; (3) the store's recovery and a checkpoint, which
/// writes <c>state.json</c> at the current version; (4) validation of what was written; (5) the log
/// <c>state.migration-v&lt;N&gt;-to-v&lt;M&gt;.log</c>, then the manifest's status <c>applied</c>: the commit. A crash
/// anywhere before the commit leaves the manifest at <c>migrating</c>, and the next open restores the backup byte
/// for byte and runs the migration again from the start; a crash after it leaves a migrated directory.
/// </summary>
internal sealed class MigrationRunner(IFileSystem fileSystem, StateLayout layout, PayloadEnvelope envelope, TimeProvider time, MigrationChain chain)
{
    private readonly PreMigrationBackup _backup = new(fileSystem, layout);

    public PreMigrationBackup Backup => _backup;

    /// <summary>
    /// Reads what the directory needs, changing nothing. A directory of a newer major version than this build reads
    /// is refused here, before the lock file or anything else is written; so is one a migration would start on that
    /// holds a symbolic link (<see cref="PreMigrationBackup.RefuseLinks"/>), unless <paramref name="refuseLinks"/> is
    /// false (a status, or a rollback, which take no backup).
    /// </summary>
    public MigrationPlan Plan(bool refuseLinks = true)
    {
        DetectedVersion detected = DirectoryVersion.Detect(fileSystem, layout, envelope);
        if (FormatVersion.Major(detected.Version) > StateFormat.HighestReadableMajor)
        {
            throw new StateFormatException(
                $"The state directory '{layout.Root}' has format version {detected.Version} (read from {detected.Source}), newer than this build: "
                + $"it writes {StateFormat.CurrentVersion} and reads up to {StateFormat.HighestReadableMajor}.x. Upgrade StatePersistence; nothing in the directory was changed.",
                layout.StateFile);
        }

        MigrationManifest? lastRun = _backup.ReadManifest();
        string from = lastRun?.Status is MigrationManifest.Migrating or MigrationManifest.RollingBack ? lastRun.From : detected.Version;
        var plan = new MigrationPlan(detected, chain.From(from, layout.StateFile), lastRun);
        if (refuseLinks && WouldRefuseLinks(plan))
        {
            // Here, read-only, before the lock file or a directory is created: a refused directory is left as it was.
            _backup.RefuseLinks();
        }

        return plan;
    }

    /// <summary>Whether <see cref="Plan"/> refuses the directory when it holds a symbolic link: a run about to start.</summary>
    public static bool WouldRefuseLinks(MigrationPlan plan) => plan.Steps.Count > 0 && !plan.Interrupted;

    /// <summary>
    /// Rolls back an interrupted run, then, when the directory needs it, takes the backup and runs the steps. Returns
    /// the run to complete once the store has recovered the migrated directory, or null when there is nothing to do.
    /// </summary>
    public PendingMigration? Begin(MigrationPlan plan)
    {
        if (plan.Interrupted)
        {
            RollBack(plan.LastRun!, plan.LastRun!.Status == MigrationManifest.RollingBack
                ? "a rollback was interrupted; it is finished now"
                : "the run was interrupted (a crash or a failure) before it was validated; it runs again now");
            if (plan.Steps.Count > 0)
            {
                _backup.RefuseLinks();
            }
        }

        if (plan.Steps.Count == 0)
        {
            return null;
        }

        DateTimeOffset now = time.GetUtcNow();
        MigrationManifest manifest = _backup.Take(plan.Steps[0].From, StateFormat.CurrentVersion, now);
        var context = new MigrationContext(fileSystem, layout, envelope, new Quarantine(fileSystem, time));
        context.Log.Add($"{Stamp(now)} migration of '{layout.Root}' from {manifest.From} to {manifest.To} (version read from {plan.Detected.Source})");
        context.Log.Add($"backup: {manifest.Files.Count} file(s) copied, durably, before any change: state.json to {context.Relative(_backup.CopyPath("state.json", manifest))}, "
            + $"the others under {PreMigrationBackup.DirectoryName}/ (manifest: {PreMigrationBackup.DirectoryName}/manifest.json)");
        foreach (StateMigration step in plan.Steps)
        {
            context.Log.Add($"step {step.From} -> {step.To}: {step.Description}");
            step.Apply(context);
            context.SyncChangedDirectories();
        }

        return new PendingMigration(manifest, context);
    }

    /// <summary>
    /// Validates what the store recovered and the checkpoint wrote, then commits: the log, then the manifest's status.
    /// A result that does not validate is rolled back and refused.
    /// </summary>
    public void Complete(PendingMigration pending, StateView view, Func<string, LogDigest?> readSessionLog)
    {
        List<string> problems = Validate(pending.Context, view, readSessionLog);
        MigrationManifest manifest = pending.Manifest;
        if (problems.Count > 0)
        {
            pending.Context.Log.Add("validation failed: " + string.Join("; ", problems));
            WriteLog(manifest, pending.Context.Log);
            RollBack(manifest, "the result did not validate");
            throw new StateStorageException($"Migrating '{layout.Root}' from {manifest.From} to {manifest.To} failed validation ({string.Join("; ", problems)}). "
                + $"The directory was rolled back to its pre-migration state; see {LogName(manifest)}.", layout.Root, null, isTransient: false);
        }

        DateTimeOffset now = time.GetUtcNow();
        pending.Context.Log.Add($"validated: state.json is {StateFormat.CurrentVersion} and holds the {view.Tasks.Count} task(s) and {view.Sessions.Count} session(s) recovered; "
            + $"{pending.Context.ExpectedLogs.Count} session log(s) and {pending.Context.ExpectedReports.Count} report(s) read back byte for byte");
        pending.Context.Log.Add($"{Stamp(now)} applied. Roll back with 'statectl migrate rollback' (or StateMigrations.RollbackAsync) while the pre-migration backup is kept.");
        WriteLog(manifest, pending.Context.Log);
        manifest.Status = MigrationManifest.Applied;
        manifest.FinishedAt = now;
        _backup.WriteManifest(manifest);
    }

    /// <summary>Restores the pre-migration state of the run <paramref name="manifest"/> describes and records it.</summary>
    public (int Restored, int Removed) RollBack(MigrationManifest manifest, string why)
    {
        // Every copy it will need is checked first: a damaged one refuses the rollback with nothing changed.
        _backup.RefuseDamagedCopies(manifest);
        if (manifest.Status != MigrationManifest.Migrating)
        {
            // From here the files may be half restored: no later open may take them for a directory to back up. What
            // was saved since the migration is the application's data: it is moved aside, into a folder named now and
            // kept in the manifest, so a rollback finished later uses the same one (an earlier build's manifest of a
            // rollback cut short names none: it gets one too).
            manifest.Status = MigrationManifest.RollingBack;
            manifest.DiscardedTo ??= PreMigrationBackup.DiscardFolderPrefix + FolderStamp(time.GetUtcNow());
            _backup.WriteManifest(manifest);
        }

        (int restored, int removed) = _backup.Restore(manifest);
        DateTimeOffset now = time.GetUtcNow();
        string discarded = manifest.DiscardedTo is null
            ? $"{removed} file(s) the interrupted run had written removed"
            : $"{removed} file(s) changed or created since the backup moved to {manifest.DiscardedTo}/";
        AppendLog(manifest, $"{Stamp(now)} rolled back ({why}): {restored} file(s) restored byte for byte from the pre-migration backup, "
            + $"{discarded}; the directory is at {manifest.From} again");
        manifest.Status = MigrationManifest.RolledBack;
        manifest.FinishedAt = now;
        _backup.WriteManifest(manifest);
        return (restored, removed);
    }

    /// <summary><c>state.migration-v&lt;from&gt;-to-v&lt;to&gt;.log</c>.</summary>
    public static string LogName(MigrationManifest manifest) => $"{PreMigrationBackup.LogPrefix}v{manifest.From}-to-v{manifest.To}.log";

    private List<string> Validate(MigrationContext context, StateView view, Func<string, LogDigest?> readSessionLog)
    {
        var problems = new List<string>();
        try
        {
            SnapshotContent snapshot = SnapshotReader.Read(envelope.OpenFile(fileSystem, PayloadKind.Snapshot, FileRecovery.SnapshotId, layout.StateFile), layout.StateFile);
            if (snapshot.Version != StateFormat.CurrentVersion)
            {
                problems.Add($"state.json says {snapshot.Version}");
            }

            if (!snapshot.View.Tasks.Keys.SequenceEqual(view.Tasks.Keys) || !snapshot.View.Sessions.Keys.SequenceEqual(view.Sessions.Keys))
            {
                problems.Add("state.json does not hold the tasks and sessions recovered");
            }
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException)
        {
            problems.Add($"state.json cannot be read back ({ex.Message})");
        }

        foreach ((string id, LogDigest expected) in context.ExpectedLogs)
        {
            CheckReadBack(problems, $"the session log of '{id}'", "as the per-call files joined", () => readSessionLog(id) is { } text && text == expected);
        }

        foreach ((string id, byte[] expected) in context.ExpectedReports)
        {
            string path = layout.ReportFile(id);
            CheckReadBack(problems, $"the report '{id}'", "as imported", () =>
                fileSystem.FileExists(path) && envelope.Open(PayloadKind.Report, id, fileSystem.ReadAllBytes(path), path).AsSpan().SequenceEqual(expected));
        }

        return problems;
    }

    /// <summary>
    /// Adds a problem when <paramref name="readsBack"/> is false, or when the read fails: a result that cannot be read
    /// back is a problem like any other (rolled back and named), never an unhandled exception.
    /// </summary>
    private static void CheckReadBack(List<string> problems, string what, string how, Func<bool> readsBack)
    {
        try
        {
            if (!readsBack())
            {
                problems.Add($"{what} does not read back {how}");
            }
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException)
        {
            problems.Add($"{what} cannot be read back ({ex.Message})");
        }
    }

    private void WriteLog(MigrationManifest manifest, List<string> lines) => AppendLog(manifest, string.Join('\n', lines));

    /// <summary>Adds lines to the run's log, atomically: the log is the record of what ran and of every rollback.</summary>
    private void AppendLog(MigrationManifest manifest, string text)
    {
        string path = Path.Combine(layout.Root, LogName(manifest));
        byte[] existing = fileSystem.FileExists(path) ? fileSystem.ReadAllBytes(path) : [];
        AtomicFile.Write(fileSystem, layout, path, [.. existing, .. Encoding.UTF8.GetBytes(text + "\n")], Durability.Full);
    }

    /// <summary>A timestamp that sorts and is safe in a file name: <c>20261203T231500123Z</c>.</summary>
    private static string FolderStamp(DateTimeOffset time) => time.UtcDateTime.ToString("yyyyMMdd'T'HHmmssfff'Z'", CultureInfo.InvariantCulture);

    private static string Stamp(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
