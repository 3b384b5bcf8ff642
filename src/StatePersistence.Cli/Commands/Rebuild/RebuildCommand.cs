using System.CommandLine;
using StatePersistence.Cli.Infrastructure;
using StatePersistence.FileStore.Operations;
using StatePersistence.Recovery;

namespace StatePersistence.Cli.Commands.Rebuild;

/// <summary>
/// <c>statectl rebuild</c>: <c>state.json</c> rebuilt from the item files and the journal through the library
/// (<see cref="StateRebuild"/>), the old one kept as the newest backup. Takes the writer lock.
/// </summary>
internal static class RebuildCommand
{
    public static Command Create()
    {
        var command = KeyFileOption.AddTo(new Command("rebuild", "Rebuild state.json from the task and session files and the journal (files added by hand are imported); the old state.json is kept as a backup."));
        command.SetHandler(RunAsync);
        return command;
    }

    private static async Task<int> RunAsync(CommandContext context, ParseResult parsed, CancellationToken cancellation)
    {
        StatePersistenceOptions options = WriterSession.Options(context);
        StateRebuildResult result;
        using (Interruption.Defer("the rebuild"))
        {
            result = await StateRebuild.RunAsync(options, cancellationToken: cancellation).ConfigureAwait(false);
        }

        var report = new RebuildReport(result.Tasks, result.Sessions, result.AddedTasks, result.DroppedTasks, result.AddedSessions,
            result.DroppedSessions, result.PreviousStateBackup, [.. result.Recovery.Quarantined.Select(q => new QuarantineReport(q.OriginalPath, q.QuarantinePath, q.Reason))],
            result.Recovery.Lost,
            [.. result.Recovery.DroppedJournalBytes.Concat(result.Recovery.DroppedSessionLogBytes).Where(r => r.Damage)
                .Select(r => new DroppedBytesReport(r.Path, r.Offset, r.Length, r.Reason, r.KeptAs))],
            result.Recovery.Warnings);

        // Acknowledged writes may be among what the recovery could not recover (a damaged journal record): the success
        // line below says nothing of them, and before, only recovery-report.json did.
        WriterSession.WarnAboutLosses(context, result.Recovery, "the rebuild's recovery");
        if (context.Json)
        {
            context.WriteJson(report, RebuildJsonContext.Default.RebuildReport);
            return ExitCodes.Success;
        }

        context.Output.WriteLine($"Rebuilt state.json: {result.Tasks} tasks, {result.Sessions} sessions.");
        // Compared with what an ordinary start would recover (state.json and the journal), not with state.json alone:
        // records after the last snapshot are already in the state, and are neither added nor dropped.
        Line(context, "Tasks added (item files that neither state.json nor the journal holds, e.g. added by hand)", result.AddedTasks);
        Line(context, "Tasks dropped (listed in state.json, no file and no journal record)", result.DroppedTasks);
        Line(context, "Sessions added (item files that neither state.json nor the journal holds)", result.AddedSessions);
        Line(context, "Sessions dropped (listed in state.json, no file and no journal record)", result.DroppedSessions);
        foreach (QuarantinedFile file in result.Recovery.Quarantined)
        {
            context.Output.WriteLine($"Moved aside: {file.OriginalPath} -> {file.QuarantinePath} ({file.Reason})");
        }

        context.Output.WriteLine(result.PreviousStateBackup is { } previous
            ? $"The old state.json is kept as {previous} ('statectl backups restore {previous}' brings it back)."
            : "There was no valid state.json before the rebuild.");
        return ExitCodes.Success;
    }

    private static void Line(CommandContext context, string title, IReadOnlyList<string> ids)
    {
        if (ids.Count > 0)
        {
            context.Output.WriteLine($"{title}: {string.Join(", ", ids)}");
        }
    }
}
