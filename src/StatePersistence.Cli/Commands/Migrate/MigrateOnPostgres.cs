using System.Globalization;
using Spectre.Console;
using StatePersistence.Cli.Infrastructure;
using StatePersistence.Postgres;

namespace StatePersistence.Cli.Commands.Migrate;

/// <summary>
/// <c>statectl migrate status|apply --store postgres</c>: a PostgreSQL store's schema version, and its upgrade run by the
/// operator (<see cref="PostgresSchemaMigrations"/>), for a DBA who upgrades with the owning role before instances that
/// run under a role that may only use the tables, or who wants to see an upgrade happen rather than have the first
/// instance of a new build do it at its start. There is no rollback on PostgreSQL (see <see cref="RollbackRefusal"/>).
/// </summary>
internal static class MigrateOnPostgres
{
    /// <summary>Why <c>migrate rollback --store postgres</c> is bad usage.</summary>
    public const string RollbackRefusal =
        "'migrate rollback' puts back a state directory; a PostgreSQL schema's upgrade has no rollback: it is one transaction, " +
        "so one that failed left the schema as it was, and one that committed is undone only by restoring the database from a backup " +
        "taken before it (pg_dump, or 'statectl export --store postgres' imported into a new schema). Instances of the earlier build keep " +
        "working on the upgraded schema while they run; one started again is refused.";

    public static async Task<int> StatusAsync(CommandContext context, StoreChoice store, CancellationToken cancellationToken)
    {
        PostgresSchemaStatus status = await store.ReadAsync((connectionString, schema) =>
            PostgresSchemaMigrations.GetStatusAsync(connectionString, schema, cancellationToken)).ConfigureAwait(false);
        Print(context, status);
        if (!status.HoldsStore)
        {
            context.Error.WriteLine($"statectl: the PostgreSQL schema '{status.Schema}' at {status.Location} holds no StatePersistence store; 'statectl migrate apply --store postgres --create' creates one.");
            return ExitCodes.Failed;
        }

        if (status.IsNewerThanBuild)
        {
            // As a directory a newer build wrote: no instance of this build opens it, and 'apply' is refused.
            context.Error.WriteLine($"statectl: the PostgreSQL schema '{status.Schema}' at {status.Location} is at version {Number(status.SchemaVersion ?? 0)}, written by a newer build than this one ({Number(status.BuildVersion)}): this build's instances and 'migrate apply' refuse it; upgrade statectl and the instances.");
            return ExitCodes.Failed;
        }

        return ExitCodes.Success;
    }

    public static async Task<int> ApplyAsync(CommandContext context, StoreChoice store, bool create, CancellationToken cancellationToken)
    {
        PostgresSchemaStatus status = await store.ReadAsync((connectionString, schema) =>
            PostgresSchemaMigrations.ApplyAsync(connectionString, schema, create, cancellationToken)).ConfigureAwait(false);
        Print(context, status);
        return ExitCodes.Success;
    }

    private static void Print(CommandContext context, PostgresSchemaStatus status)
    {
        if (context.Json)
        {
            context.WriteJson(PostgresMigrationReport.From(status), PostgresMigrationJsonContext.Default.PostgresMigrationReport);
            return;
        }

        var grid = new Grid().AddColumn().AddColumn();
        grid.AddRow("schema version", status.SchemaVersion is { } version ? Number(version) : "none (no store in this schema)");
        grid.AddRow("this build", Number(status.BuildVersion));
        grid.AddRow("pending", status.IsNewerThanBuild
            ? "[red]written by a newer build[/]: this build refuses to open it and leaves it untouched; upgrade statectl and the instances"
            : status.Pending.Count == 0 ? "none" : Markup.Escape(string.Join("\n", status.Pending.Select(p => $"{Number(p.Version)}: {p.Description}"))));
        if (status.UpgradingProcessId is { } pid)
        {
            grid.AddRow("[yellow]upgrading now[/]", Markup.Escape($"PostgreSQL backend {Number(pid)} holds the schema's upgrade lock (pg_stat_activity shows it); instances' writes wait for it"));
        }

        grid.AddRow("applied", status.Applied.Count == 0 ? "none" : Markup.Escape(string.Join("\n",
            status.Applied.Select(a => $"{Number(a.Version)}: {a.AppliedAt?.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)}Z  {a.Description}"))));
        grid.AddRow("rollback", "none on PostgreSQL (restore a backup taken before the upgrade)");
        if (status.Outcome is not null)
        {
            grid.AddRow("[bold]done[/]", Markup.Escape(status.Outcome));
        }

        context.Console.Write(new Panel(grid).Header(Markup.Escape(status.Location)));
    }

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);
}
