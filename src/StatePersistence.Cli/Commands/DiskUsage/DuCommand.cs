using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using StatePersistence.Cli.Infrastructure;
using StatePersistence.FileStore;
using StatePersistence.Postgres;

namespace StatePersistence.Cli.Commands.DiskUsage;

/// <summary>
/// <c>statectl du</c>: disk use and file counts per kind, read-only (safe beside a running server). With
/// <c>--store postgres</c>, the rows and stored bytes per kind of a PostgreSQL store and its relations' sizes on disk
/// (<see cref="PostgresDiskUsage"/>).
/// </summary>
internal static class DuCommand
{
    public static Command Create()
    {
        var command = new Command("du", "Disk usage and file counts per kind (state, backups, journal, tasks, sessions, logs, reports, archive; or a PostgreSQL store's rows and tables, --store postgres).");
        StoreChoice.AddOptionsTo(command);
        command.SetHandler(async (context, parsed, cancellation) => StoreChoice.From(parsed) is { IsPostgres: true } store
            ? await RunOnPostgresAsync(context, store, cancellation).ConfigureAwait(false)
            : Run(context));
        return command;
    }

    private static async Task<int> RunOnPostgresAsync(CommandContext context, StoreChoice store, CancellationToken cancellationToken)
    {
        PostgresStoreUsage usage = await store.ReadAsync((connectionString, schema) =>
            PostgresDiskUsage.MeasureAsync(connectionString, schema, cancellationToken)).ConfigureAwait(false);
        if (context.Json)
        {
            context.WriteJson(PostgresDiskUsageReport.From(usage), DiskUsageJsonContext.Default.PostgresDiskUsageReport);
            return ExitCodes.Success;
        }

        var kinds = new Table().AddColumn("kind").AddColumn(new TableColumn("rows").RightAligned()).AddColumn(new TableColumn("bytes stored").RightAligned());
        foreach (PostgresKindUsage kind in usage.Kinds)
        {
            kinds.AddRow(kind.Kind, Number(kind.Rows), Number(kind.Bytes));
        }

        kinds.Caption(Markup.Escape($"rows by kind, values as stored; revision {usage.Revision.ToString(CultureInfo.InvariantCulture)}"));
        context.Console.Write(kinds);
        var relations = new Table().AddColumn("table").AddColumn(new TableColumn("bytes on disk").RightAligned()).AddColumn(new TableColumn("of which indexes").RightAligned());
        foreach (PostgresRelationUsage relation in usage.Relations)
        {
            relations.AddRow(Markup.Escape(relation.Name), Number(relation.Bytes), Number(relation.IndexBytes));
        }

        relations.AddRow("[bold]total[/]", Number(usage.TotalBytes), Number(usage.Relations.Sum(r => r.IndexBytes)));
        relations.Caption(Markup.Escape(usage.Location));
        context.Console.Write(relations);
        return ExitCodes.Success;
    }

    private static int Run(CommandContext context)
    {
        // Counting an empty folder (a volume that did not mount) as a state of 0 bytes would pass for the state's use.
        StateDirectoryRequirement.Require(context.StatePath);
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
