using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using StatePersistence.Cli.Infrastructure;
using StatePersistence.FileStore.Migrations;

namespace StatePersistence.Cli.Commands.Migrate;

/// <summary>
/// <c>statectl migrate status|apply|rollback</c>: the state directory's format version and migrations, for operators
/// who run with <c>AutoMigrate</c> off and migrate in a maintenance window. <c>status</c> is read-only; <c>apply</c> and
/// <c>rollback</c> take the directory lock, so they refuse a directory a running server holds (stop it first). With
/// <c>--store postgres</c>, <c>status</c> and <c>apply</c> look at and upgrade a PostgreSQL store's schema
/// (<see cref="MigrateOnPostgres"/>); <c>rollback</c> is bad usage there.
/// </summary>
internal static class MigrateCommand
{
    public static Command Create()
    {
        var migrate = new Command("migrate", "Show, run or roll back the migration of the state directory's format (or a PostgreSQL store's schema, --store postgres).");
        KeyFileOption.AddTo(migrate);
        StoreChoice.AddOptionsTo(migrate);

        var status = new Command("status", "The directory's format version, the migrations it needs, and the last run (read-only); or a PostgreSQL schema's version, its history and the steps pending.");
        status.SetHandler(async (context, parsed, cancellation) => StoreChoice.From(parsed) is { IsPostgres: true } store
            ? await MigrateOnPostgres.StatusAsync(context, store, cancellation).ConfigureAwait(false)
            : PrintStatus(context, StateMigrations.GetStatus(SignedOptions(context), context.PayloadCodec())));
        migrate.Subcommands.Add(status);

        var create = new Option<bool>("--create")
        {
            Description = "With --store postgres: create the store's schema when it holds none (else refused, so a mistyped name does not become a new store).",
        };
        var apply = new Command("apply", "Migrate now: pre-migration backup, transformation, validation, version update, log; or upgrade a PostgreSQL schema as an instance's start would.");
        apply.Options.Add(create);
        apply.SetHandler(async (context, parsed, cancellation) =>
        {
            if (StoreChoice.From(parsed) is { IsPostgres: true } store)
            {
                return await MigrateOnPostgres.ApplyAsync(context, store, parsed.GetValue(create), cancellation).ConfigureAwait(false);
            }

            if (parsed.GetValue(create))
            {
                throw new CommandFailedException("--create goes with --store postgres: a state directory is created by the server's first start.", ExitCodes.Usage);
            }

            // Applying opens the directory, which creates the store's files: an empty one is a wrong path, not a directory to migrate.
            StatePersistenceOptions options = WritableOptions(context);
            MigrationStatus status;
            using (Interruption.Defer("the migration"))
            {
                status = await StateMigrations.ApplyAsync(options, context.PayloadCodec(), cancellationToken: cancellation).ConfigureAwait(false);
            }

            return Print(context, status);
        });
        migrate.Subcommands.Add(apply);

        var rollback = new Command("rollback", "Restore the directory to what it was before the last migration, byte for byte (what was saved since is discarded).");
        rollback.SetHandler(async (context, parsed, cancellation) =>
        {
            if (StoreChoice.From(parsed).IsPostgres)
            {
                throw new CommandFailedException(MigrateOnPostgres.RollbackRefusal, ExitCodes.Usage);
            }

            StatePersistenceOptions options = WritableOptions(context);
            MigrationStatus status;
            using (Interruption.Defer("the rollback"))
            {
                status = await StateMigrations.RollbackAsync(options, context.PayloadCodec(), cancellationToken: cancellation).ConfigureAwait(false);
            }

            return Print(context, status);
        });
        migrate.Subcommands.Add(rollback);
        return migrate;
    }

    /// <summary>The library's options for the directory; a directory that is not there is an error, never created.</summary>
    private static StatePersistenceOptions Options(CommandContext context)
    {
        if (!Directory.Exists(context.StatePath))
        {
            throw MissingStateDirectory.Error(context.StatePath);
        }

        return context.StoreOptions();
    }

    /// <summary>
    /// <see cref="Options"/> of a directory that shows a sign of being a state directory: on any other (a mistyped path, a
    /// mount point whose volume did not mount) <c>status</c> named a version, "1.0.0 (from the original Node
    /// implementation's layout)" beside a stray file, and <c>rollback</c> left a lock file.
    /// </summary>
    private static StatePersistenceOptions SignedOptions(CommandContext context)
    {
        StateDirectoryRequirement.Require(context.StatePath);
        return Options(context);
    }

    /// <summary>
    /// <see cref="SignedOptions"/> of a directory this user may change without leaving files its server cannot read:
    /// the migration's and the rollback's files would otherwise be this user's (root, through sudo), mode 0600.
    /// </summary>
    private static StatePersistenceOptions WritableOptions(CommandContext context)
    {
        StatePersistenceOptions options = SignedOptions(context);
        StateDirectoryOwner.RequireSameUser(context.StatePath);
        return options;
    }

    /// <summary>The last run's status while a rollback has not finished (<see cref="MigrationStatus.LastRunStatus"/>).</summary>
    private const string RollingBack = "rolling-back";

    /// <summary>
    /// <c>status</c>: the status, then exit 1 when the directory cannot be migrated or opened as it is (a blocker
    /// <c>apply</c> would refuse it for, an import that did not finish), so a script that checks the status before a
    /// maintenance window stops there. Before 2026-12-06 it exited 0 and the window ended in <c>apply</c>'s refusal.
    /// </summary>
    private static int PrintStatus(CommandContext context, MigrationStatus status)
    {
        Print(context, status);
        if (status.UnfinishedImport is { } import)
        {
            // The words every command that opens the directory refuses it with, naming the import to run again.
            context.Error.WriteLine("statectl: " + import);
            return ExitCodes.Failed;
        }

        if (status.Blockers.Count > 0)
        {
            context.Error.WriteLine($"statectl: 'migrate apply' would refuse {status.StatePath}, changing nothing, for what 'blocked' names; remove or replace it first.");
            return ExitCodes.Failed;
        }

        return ExitCodes.Success;
    }

    private static int Print(CommandContext context, MigrationStatus status)
    {
        if (context.Json)
        {
            context.WriteJson(MigrationReport.From(status), MigrationJsonContext.Default.MigrationReport);
            return ExitCodes.Success;
        }

        var grid = new Grid().AddColumn().AddColumn();
        if (status.UnfinishedImport is { } import)
        {
            // First: everything below describes only the part of an archive that was written.
            grid.AddRow("[red]unfinished import[/]", Markup.Escape(import));
        }

        grid.AddRow("directory version", Markup.Escape($"{status.DirectoryVersion} (from {status.VersionSource})"));
        grid.AddRow("this build", Markup.Escape(status.CurrentVersion));
        grid.AddRow("pending", status.PendingSteps.Count == 0 ? "none" : Markup.Escape(string.Join("\n", status.PendingSteps)));
        if (status.Blockers.Count > 0)
        {
            // What 'migrate apply' would refuse the directory for: before the maintenance window, not in it.
            grid.AddRow("[red]blocked[/]", Markup.Escape(string.Join("\n", status.Blockers)));
        }

        if (status.LockHolderProcessId is { } holder)
        {
            grid.AddRow("lock held by", Markup.Escape($"process {holder.ToString(CultureInfo.InvariantCulture)}"
                + (status.InProgress ? $" ({(status.LastRunStatus == RollingBack ? "rolling back" : "migrating")} now: wait for it to finish)" : "")));
        }

        if (status.Interrupted)
        {
            grid.AddRow("[yellow]interrupted[/]", status.LastRunStatus == RollingBack
                ? "a rollback did not finish; run 'migrate rollback' again to finish it ('migrate apply' or the next start would finish it and migrate again)"
                : "a run did not finish; 'migrate apply' (or the next start) rolls it back and runs it again, 'migrate rollback' leaves the directory as it was before it");
        }

        string log = status.LogFile is null ? "no log yet" : "log: " + status.LogFile;
        grid.AddRow("last run", Markup.Escape(status.LastRun is null ? "none" : $"{status.LastRun}: {status.LastRunStatus} ({log})"));
        grid.AddRow("rollback", status.CanRollBack ? "possible (statectl migrate rollback)" : "nothing to roll back");
        if (status.Outcome is not null)
        {
            grid.AddRow("[bold]done[/]", Markup.Escape(status.Outcome));
        }

        context.Console.Write(new Panel(grid).Header(Markup.Escape(status.StatePath)));
        return ExitCodes.Success;
    }
}
