using System.CommandLine;
using System.Globalization;
using StatePersistence.Cli.Infrastructure;
using StatePersistence.Errors;
using StatePersistence.FileStore.Operations;

namespace StatePersistence.Cli.Commands.Backups;

/// <summary>
/// <c>statectl backups list</c> (read-only, beside a running server) and <c>statectl backups restore NAME</c>
/// (takes the writer lock; a real rollback through the library, see <see cref="StateBackups.RestoreAsync(StatePersistenceService, StateBackupContent, CancellationToken)"/>).
/// </summary>
internal static class BackupsCommand
{
    public static Command Create()
    {
        var command = KeyFileOption.AddTo(new Command("backups", "List the state.json backups, or restore one (a real rollback, keeping the current state as a backup)."));
        var list = new Command("list", "The backups, newest first: name, time, size, task and session counts, whether each parses.");
        list.SetHandler((context, _, _) => Task.FromResult(List(context)));
        var name = new Argument<string>("NAME") { Description = "The backup's file name, as 'backups list' shows it (state.backup.<timestamp>.json)." }.NotEmpty("a backup's file name, as 'backups list' shows it");
        var restore = new Command("restore", "Restore the state as of a backup: later changes are rolled back; the state before is kept as the newest backup.");
        restore.Arguments.Add(name);
        restore.SetHandler((context, parsed, cancellation) => RestoreAsync(context, parsed.GetValue(name)!, cancellation));
        command.Subcommands.Add(list);
        command.Subcommands.Add(restore);
        return command;
    }

    private static int List(CommandContext context)
    {
        StateDirectoryRequirement.Require(context.StatePath);

        IReadOnlyList<StateBackupInfo> backups = StateBackups.List(context.StatePath, context.PayloadCodec());
        IReadOnlyList<NodeBackupInfo> nodeBackups = StateBackups.ListNodeBackups(context.StatePath);
        if (context.Json)
        {
            context.WriteJson(new BackupListReport(context.StatePath, [.. backups.Select(BackupReport.From)],
                [.. nodeBackups.Select(b => new NodeBackupReport(b.Name, b.Time, b.Bytes))]), BackupsJsonContext.Default.BackupListReport);
            return ExitCodes.Success;
        }

        // One line per backup rather than a table: the names are long, and an operator copies them into 'restore'.
        if (backups.Count > 0 || nodeBackups.Count == 0)
        {
            context.Output.WriteLine(backups.Count == 0 ? $"No backups in {context.StatePath}." : $"Backups in {context.StatePath}, newest first:");
        }

        foreach (StateBackupInfo backup in backups)
        {
            context.Output.WriteLine(backup.Parses
                ? $"{backup.Name}  {Time(backup.Time)} UTC  {Number(backup.Bytes)} bytes  revision {Number(backup.Revision)}  {Number(backup.Tasks)} tasks  {Number(backup.Sessions)} sessions"
                : $"{backup.Name}  {Time(backup.Time)} UTC  {Number(backup.Bytes)} bytes  DOES NOT PARSE: {backup.Problem}");
        }

        ListNodeBackups(context, nodeBackups);
        return ExitCodes.Success;
    }

    /// <summary>
    /// The backups of a directory the original Node implementation wrote, not migrated yet: there, not "No backups",
    /// with what makes them restorable (before 2026-12-07 the listing said "No backups" beside them).
    /// </summary>
    private static void ListNodeBackups(CommandContext context, IReadOnlyList<NodeBackupInfo> nodeBackups)
    {
        if (nodeBackups.Count == 0)
        {
            return;
        }

        context.Output.WriteLine($"{nodeBackups.Count} backup{(nodeBackups.Count == 1 ? "" : "s")} of the original Node implementation (state.backup.<epoch-ms>.json) in {context.StatePath}, "
            + "a directory not migrated yet: 'backups restore' does not take them as they are. "
            + $"'statectl migrate apply --state-path {context.StatePath}' renames them state.backup.<timestamp>.json (after a pre-migration backup of the directory), "
            + "as this listing then shows them, and 'backups restore' restores one. Newest first:");
        foreach (NodeBackupInfo backup in nodeBackups)
        {
            context.Output.WriteLine($"{backup.Name}  {Time(backup.Time)} UTC  {Number(backup.Bytes)} bytes");
        }
    }

    private static string Time(DateTimeOffset time) => time.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    private static async Task<int> RestoreAsync(CommandContext context, string name, CancellationToken cancellation)
    {
        // Opening the directory runs start-up recovery, which may write (a checkpoint after a kill -9, item files):
        // so the name and the backup are checked first, and a refused restore leaves every file as it was.
        StateBackupContent backup;
        try
        {
            backup = StateBackups.Read(context.StatePath, name, context.PayloadCodec());
        }
        catch (StateValidationException ex) when (ex.Field == "backup")
        {
            // A name no backup can have is a value the command refuses: bad usage, exit 2, as a date that does not parse
            // (before 2026-12-06 exit 1, as for a backup that is missing or damaged).
            throw new CommandFailedException(ex.Message, ExitCodes.Usage, ex);
        }

        StateBackupRestore restored;
        // Not stopped between its steps by Ctrl-C: a committed restore must print the backup that holds the state before it.
        using (Interruption.Defer("the restore"))
        await using (StatePersistenceService service = await WriterSession.OpenAsync(context, cancellation).ConfigureAwait(false))
        {
            restored = await StateBackups.RestoreAsync(service, backup, cancellation).ConfigureAwait(false);
        }

        // A restore whose snapshot failed is committed: exit 1 stops a script from going on as if all were well (the
        // disk is full), and the text says the restore took effect and where the state before it is.
        int exitCode = restored.SnapshotFailure is null ? ExitCodes.Success : ExitCodes.Failed;
        if (context.Json)
        {
            context.WriteJson(new RestoreReport(restored.Restored, restored.RestoredFromRevision, restored.PreviousStateBackup,
                restored.Tasks, restored.Sessions, restored.Revision, restored.SnapshotFailure), BackupsJsonContext.Default.RestoreReport);
            return exitCode;
        }

        context.Output.WriteLine($"Restored {restored.Restored} (revision {restored.RestoredFromRevision}): {restored.Tasks} tasks, "
            + $"{restored.Sessions} sessions, committed at revision {restored.Revision}.");
        context.Output.WriteLine(restored.PreviousStateBackup is { } previous
            ? $"The state before the restore is kept as {previous}."
            : "There was no state.json before the restore, so no backup of it was made.");
        if (restored.SnapshotFailure is { } failure)
        {
            context.Error.WriteLine($"statectl: the restore took effect and is durable (journaled), but the snapshot after it failed: {failure} "
                + "Free space and start the server (or run any writing statectl command): its first snapshot writes it.");
        }

        return exitCode;
    }

    private static string Number(long? value) => value?.ToString("N0", CultureInfo.InvariantCulture) ?? "-";
}
