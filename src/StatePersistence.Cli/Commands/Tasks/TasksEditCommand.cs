using System.CommandLine;
using StatePersistence.Cli.Infrastructure;
using StatePersistence.Errors;
using StatePersistence.Ids;
using StatePersistence.Model;
using StatePersistence.Operations;

namespace StatePersistence.Cli.Commands.Tasks;

/// <summary>
/// <c>statectl tasks edit ID</c>: the task's JSON in <c>$EDITOR</c> (a temp file outside the state directory), checked
/// by <see cref="TaskEdits.Check"/> and saved through the library as a conditional write on the revision read. The
/// writer lock is held only to read and to save, not while the editor is open; a change made meanwhile is a conflict.
/// An edit that is refused is kept in its temp file, named in the message, so the operator's work is not lost. With
/// <c>--store postgres</c> the task is read from and saved to a PostgreSQL store beside its running instances (no lock
/// to take: the conditional write is the store's, checked in the statement, and the instances get the edit through the
/// change feed); the schema must be at this build's version, never created or upgraded by an edit.
/// </summary>
internal static class TasksEditCommand
{
    public static Command Create()
    {
        var id = new Argument<string>("ID") { Description = "The task's id." };
        var command = new Command("edit", "Edit a task's JSON in $EDITOR (else $VISUAL); saved through the library only if the task did not change meanwhile (of the state directory, or of a PostgreSQL store, --store postgres).");
        command.Arguments.Add(id);
        StoreChoice.AddOptionsTo(command);
        command.SetHandler((context, parsed, cancellation) =>
        {
            string taskId = parsed.GetValue(id)!;
            // First, as 'tasks show' does: an id no task can have needs no editor, no lock and no start-up recovery.
            if (StateId.Problem(taskId) is { } problem)
            {
                throw new CommandFailedException($"'{taskId}' is not a task id: {problem}", ExitCodes.Usage);
            }

            StoreChoice store = StoreChoice.From(parsed);
            return RunAsync(context, taskId, () => StoreSession.OpenAsync(context, store, cancellation), cancellation);
        });
        return command;
    }

    private static async Task<int> RunAsync(CommandContext context, string id, Func<Task<StatePersistenceService>> open, CancellationToken cancellation)
    {
        string editor = EditorProcess.Resolve();
        AgentTask original;
        await using (StatePersistenceService service = await open().ConfigureAwait(false))
        {
            original = await service.LoadTaskAsync(id, cancellation).ConfigureAwait(false)
                ?? throw new CommandFailedException($"There is no task '{id}' in '{service.Location}'.");
        }

        byte[] before = TaskEdits.ToEditableJson(original);
        string path = Path.Combine(Path.GetTempPath(), $"statectl-edit-{id}-{Guid.NewGuid():N}.json");
        var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            // The task may hold secrets: readable by its owner only, like the state directory's own files.
            create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        await using (FileStream file = new(path, create))
        {
            await file.WriteAsync(before, cancellation).ConfigureAwait(false);
        }

        try
        {
            await EditorProcess.RunAsync(editor, path, cancellation).ConfigureAwait(false);
        }
        catch (CommandFailedException ex) when (ex.KeptEdit is null)
        {
            // The editor failed (or did not start): its message names the file; --json names it as well.
            throw new CommandFailedException(ex.Message, ex.ExitCode, ex) { KeptEdit = path };
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            // Ctrl-C with the editor open.
            throw Interrupted(context, path);
        }
        TaskEdit edit;
        try
        {
            edit = TaskEdits.Check(original, await File.ReadAllBytesAsync(path, cancellation).ConfigureAwait(false));
        }
        catch (StateValidationException ex)
        {
            throw new CommandFailedException($"Task '{id}' was not saved: {ex.Message} The edit is kept in '{path}'.") { KeptEdit = path };
        }

        if (!edit.Changed)
        {
            File.Delete(path);
            return Report(context, new TaskEditReport(id, "unchanged", original.Revision), $"No change to task '{id}'.");
        }

        AgentTask? saved;
        string? snapshotFailure;
        try
        {
            await using StatePersistenceService service = await open().ConfigureAwait(false);
            saved = await TaskEdits.SaveAsync(service, edit, original.Revision, cancellation).ConfigureAwait(false);
            snapshotFailure = await WriterSession.SnapshotAfterChangeAsync(context, service, $"The edit of task '{id}'").ConfigureAwait(false);
        }
        catch (StateConflictException ex)
        {
            string now = ex.CurrentRevision is { } revision ? $"it is at revision {revision} now" : "it was deleted";
            throw new CommandFailedException($"Task '{id}' changed since it was read (revision {original.Revision}; {now}): nothing was saved. The edit is kept in '{path}'.") { KeptEdit = path };
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            throw Interrupted(context, path);
        }
        catch (CommandFailedException ex)
        {
            // The directory gone or no longer a state directory (moved while the editor was open): its exit code kept.
            throw new CommandFailedException($"Task '{id}' was not saved: {ex.Message} The edit is kept in '{path}'.", ex.ExitCode, ex) { KeptEdit = path };
        }
        catch (Exception ex) when (ex is StatePersistenceException or IOException or UnauthorizedAccessException)
        {
            // Every failure of the save names the file holding the edit: CommandActions would print the bare message.
            throw new CommandFailedException($"Task '{id}' was not saved: {ex.Message} The edit is kept in '{path}'.", innerException: ex) { KeptEdit = path };
        }

        File.Delete(path);
        long savedRevision = saved?.Revision ?? 0;
        Report(context, new TaskEditReport(id, "saved", savedRevision, snapshotFailure), $"Saved task '{id}' (revision {savedRevision}).");
        // Saved, but a script must hear that the directory could not take the snapshot after it (a full disk).
        return snapshotFailure is null ? ExitCodes.Success : ExitCodes.Failed;
    }

    /// <summary>
    /// Ctrl-C or SIGTERM before the edit was saved: nothing is saved, and what the operator typed is not thrown away
    /// unnamed. Said on standard error at once, and the refusal carries the file, so <c>--json</c> names it too
    /// (<c>keptEdit</c>): before 2026-12-07 that document said only that the command was interrupted.
    /// </summary>
    private static CommandFailedException Interrupted(CommandContext context, string path)
    {
        context.Error.WriteLine($"statectl: nothing was saved; the edit is kept in '{path}'.");
        return new CommandFailedException(CommandActions.Stopped, ExitCodes.Interrupted) { KeptEdit = path };
    }

    private static int Report(CommandContext context, TaskEditReport report, string text)
    {
        if (context.Json)
        {
            context.WriteJson(report, TaskEditJsonContext.Default.TaskEditReport);
        }
        else
        {
            context.Output.WriteLine(text);
        }

        return ExitCodes.Success;
    }
}
