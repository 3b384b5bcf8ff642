namespace StatePersistence.FileStore.Migrations.NodeImport;

/// <summary>
/// 1.0.0 to 2.1.0: a directory the original Node implementation wrote. Its <c>state.json</c>, task and session files
/// are read by recovery as they are (task files are newer than <c>state.json</c> and win; unknown fields are kept;
/// with <c>state.json</c> missing or corrupt, the newest valid backup holds what only the snapshot held: see
/// <see cref="MigrationContext.ReadsOriginalFormat"/>),
/// and the checkpoint the runner writes afterwards makes <c>state.json</c> 2.1.0. This step converts what recovery
/// would otherwise misread or not read at all: the per-call session logs (joined, in time order, into each session's
/// own log), the stored metrics (kept as <c>node_metrics</c>), the per-call reports (the newest valid file of each id becomes the report under its real id), the
/// backups named by epoch milliseconds (renamed so they sort as backups), stray temp files, task and session files
/// whose name is no valid id (moved aside: <see cref="NodeItemFileNames"/>), and the 0755/0644
/// permissions (tightened to 0700/0600).
/// </summary>
internal sealed class NodeImportMigration : StateMigration
{
    /// <inheritdoc />
    public override string From => "1.0.0";

    /// <inheritdoc />
    public override string To => "2.1.0";

    /// <inheritdoc />
    public override string Description =>
        "import of the original Node implementation's directory: per-call session logs joined, reports under their real id, stored metrics kept as node_metrics, backups renamed, temp files removed, task and session files named for no valid id moved aside, byte order marks dropped and snapshots without a version marked 1.0.0, permissions 0700/0600";

    /// <inheritdoc />
    public override void Apply(MigrationContext context)
    {
        // The Node server kept sessions (and any task it had no file for) only in its snapshots.
        context.ReadsOriginalFormat = true;
        RemoveStrayTempFiles(context);
        NodeItemFileNames.SetAsideUnimportable(context);
        NodeJsonFiles.Normalize(context);
        NodeMetrics.Keep(context);
        RenameBackups(context);
        NodeSessionLogs.Join(context);
        NodeReports.Import(context);
        NodePermissions.Tighten(context);
    }

    /// <summary>A temp file was never renamed into place, so never acknowledged: removed, as at any start.</summary>
    private static void RemoveStrayTempFiles(MigrationContext context)
    {
        StateLayout layout = context.Layout;
        foreach (string directory in (string[])[layout.Root, layout.TasksDirectory, layout.SessionsDirectory, layout.LogsDirectory, layout.ReportsDirectory])
        {
            foreach (string name in context.FileSystem.ListFiles(directory))
            {
                if (StateLayout.IsTempFile(name))
                {
                    string path = Path.Combine(directory, name);
                    context.Delete(path);
                    context.Log.Add($"  removed the stray temp file {context.Relative(path)} (never acknowledged)");
                }
            }
        }
    }

    /// <summary><c>state.backup.&lt;epoch-ms&gt;.json</c> becomes <c>state.backup.&lt;timestamp&gt;.json</c>, in the same order.</summary>
    private static void RenameBackups(MigrationContext context)
    {
        StateLayout layout = context.Layout;
        foreach (string name in context.FileSystem.ListFiles(layout.Root).Order(StringComparer.Ordinal))
        {
            if (!NodeFileNames.TryParseBackup(name, out long epochMs))
            {
                continue;
            }

            DateTimeOffset time = NodeFileNames.Time(epochMs);
            string target = layout.BackupFile(StateLayout.Timestamp(time));
            while (context.FileSystem.FileExists(target))
            {
                time = time.AddTicks(1);
                target = layout.BackupFile(StateLayout.Timestamp(time));
            }

            context.Rename(Path.Combine(layout.Root, name), target);
            context.Log.Add($"  backup {name} renamed {Path.GetFileName(target)}");
        }
    }
}
