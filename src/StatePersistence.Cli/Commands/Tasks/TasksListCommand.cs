using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using StatePersistence.Cli.Infrastructure;
using StatePersistence.FileStore.Operations;
using StatePersistence.Model;

namespace StatePersistence.Cli.Commands.Tasks;

/// <summary><c>statectl tasks list [--status S]</c>: the tasks, read-only (safe beside a running server).</summary>
internal static class TasksListCommand
{
    private static readonly Option<string?> Status = CreateStatusOption();

    public static Command Create()
    {
        var command = new Command("list", "List the tasks (id, status, tool, revision, last update), optionally only those with one status.");
        command.Options.Add(Status);
        command.SetHandler((context, parsed, _) => Task.FromResult(Run(context, parsed.GetValue(Status))));
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

        var table = new Table().AddColumn("id").AddColumn("status").AddColumn("tool").AddColumn(new TableColumn("revision").RightAligned())
            .AddColumn("updated").AddColumn("description");
        foreach (TaskSummary task in tasks)
        {
            table.AddRow(Markup.Escape(task.Id), Markup.Escape(task.Status ?? "-"), Markup.Escape(task.Tool ?? "-"),
                task.Revision.ToString(CultureInfo.InvariantCulture), task.UpdatedAt?.ToString("u", CultureInfo.InvariantCulture) ?? "-",
                Markup.Escape(Shorten(task.Description)));
        }

        table.Caption(Markup.Escape($"{tasks.Count} task(s) in {read.StateDirectory} at revision {read.View.Revision}"));
        context.Console.Write(table);
        return ExitCodes.Success;
    }

    private static string Shorten(string? text) => text is null ? "-" : text.Length <= 60 ? text : text[..57] + "...";
}
