using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using StatePersistence.Cli.Infrastructure;
using StatePersistence.FileStore;

namespace StatePersistence.Cli.Commands.DiskUsage;

/// <summary><c>statectl du</c>: disk use and file counts per kind, read-only (safe beside a running server).</summary>
internal static class DuCommand
{
    public static Command Create()
    {
        var command = new Command("du", "Disk usage and file counts per kind (state, backups, journal, tasks, sessions, logs, reports, archive).");
        command.SetHandler((context, _, _) => Task.FromResult(Run(context)));
        return command;
    }

    private static int Run(CommandContext context)
    {
        if (!Directory.Exists(context.StatePath))
        {
            throw MissingStateDirectory.Error(context.StatePath);
        }

        StateDiskUsage usage = StateDiskUsage.Measure(context.StatePath);
        if (context.Json)
        {
            context.WriteJson(DiskUsageReport.From(usage), DiskUsageJsonContext.Default.DiskUsageReport);
            return ExitCodes.Success;
        }

        var table = new Table().AddColumn("kind").AddColumn(new TableColumn("files").RightAligned()).AddColumn(new TableColumn("bytes").RightAligned());
        foreach (StateDiskUsageKind kind in usage.Kinds)
        {
            table.AddRow(kind.Kind, Number(kind.Files), Number(kind.Bytes));
        }

        table.AddRow("[bold]total[/]", Number(usage.TotalFiles), Number(usage.TotalBytes));
        table.Caption(Markup.Escape(usage.StateDirectory));
        context.Console.Write(table);
        return ExitCodes.Success;
    }

    private static string Number(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
