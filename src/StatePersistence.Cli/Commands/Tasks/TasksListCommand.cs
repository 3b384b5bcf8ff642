using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using StatePersistence.Cli.Infrastructure;
using StatePersistence.FileStore.Operations;
using StatePersistence.Model;
using StatePersistence.Postgres;

namespace StatePersistence.Cli.Commands.Tasks;

/// <summary><c>statectl tasks list [--status S]</c>: the tasks of the state directory or of a PostgreSQL store (<c>--store postgres</c>), read-only (safe beside running servers).</summary>
internal static class TasksListCommand
{
    private static readonly Option<string?> Status = CreateStatusOption();

    public static Command Create()
    {
        var command = new Command("list", "List the tasks (id, status, tool, revision, last update), optionally only those with one status; of the state directory, or of a PostgreSQL store (--store postgres).");
        command.Options.Add(Status);
        StoreChoice.AddOptionsTo(command);
        command.SetHandler(async (context, parsed, cancellation) => StoreChoice.From(parsed) is { IsPostgres: true } store
            ? await RunOnPostgresAsync(context, store, parsed.GetValue(Status), cancellation).ConfigureAwait(false)
            : Run(context, parsed.GetValue(Status)));
        return command;
    }

    private static Option<string?> CreateStatusOption()
    {
        var option = new Option<string?>("--status") { Description = "Only tasks with this status.", HelpName = "S" };
        option.AcceptOnlyFromAmong([.. TaskStatuses.All]);
        return option;
    }

    private static int Run(CommandContext context, string? status)
    {
        StateDirectoryView read = DirectoryReading.Read(context);
        List<TaskSummary> tasks = [.. read.View.Tasks.Values.Where(t => status is null || t.Status == status).Select(TaskSummary.From)];
        if (context.Json)
        {
            context.WriteJson(new TaskListReport(read.StateDirectory, read.View.Revision, tasks.Count, tasks, read.Problems), TasksJsonContext.Default.TaskListReport);
            return ExitCodes.Success;
        }

        WriteTable(context, tasks, $"{tasks.Count} task(s) in {read.StateDirectory} at revision {read.View.Revision}");
        return ExitCodes.Success;
    }

    private static async Task<int> RunOnPostgresAsync(CommandContext context, StoreChoice store, string? status, CancellationToken cancellationToken)
    {
        var tasks = new List<TaskSummary>();
        PostgresTaskScan read = await TasksOnPostgres.ScanAsync(context, store, id: null, task =>
        {
            if (status is null || task.Status == status)
            {
                tasks.Add(TaskSummary.From(task));
            }
        }, cancellationToken).ConfigureAwait(false);
        if (context.Json)
        {
            context.WriteJson(new PostgresTaskListReport(read.Location, read.Revision, tasks.Count, tasks, read.Problems), TasksJsonContext.Default.PostgresTaskListReport);
            return ExitCodes.Success;
        }

        WriteTable(context, tasks, $"{tasks.Count} task(s) in the PostgreSQL store {read.Location} at revision {read.Revision}");
        return ExitCodes.Success;
    }

    private static void WriteTable(CommandContext context, List<TaskSummary> tasks, string caption)
    {
        var table = new Table().AddColumn("id").AddColumn("status").AddColumn("tool").AddColumn(new TableColumn("revision").RightAligned())
            .AddColumn("updated").AddColumn("description");
        foreach (TaskSummary task in tasks)
        {
            table.AddRow(Markup.Escape(task.Id), Markup.Escape(task.Status ?? "-"), Markup.Escape(task.Tool ?? "-"),
                task.Revision.ToString(CultureInfo.InvariantCulture), task.UpdatedAt?.ToString("u", CultureInfo.InvariantCulture) ?? "-",
                Markup.Escape(Shorten(task.Description)));
        }

        table.Caption(Markup.Escape(caption));
        context.Console.Write(table);
    }

    private static string Shorten(string? text) => text is null ? "-" : text.Length <= 60 ? text : text[..57] + "...";
}
