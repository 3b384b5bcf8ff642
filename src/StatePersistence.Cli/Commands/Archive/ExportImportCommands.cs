using System.CommandLine;
using System.Globalization;
using System.Text.Json.Serialization;
using Spectre.Console;
using StatePersistence.Cli.Infrastructure;
using StatePersistence.Encryption;
using StatePersistence.Errors;
using StatePersistence.FileStore.Operations;
using StatePersistence.Postgres;

namespace StatePersistence.Cli.Commands.Archive;

/// <summary>
/// <c>statectl export FILE.tar.gz</c> (a consistent copy of the whole state, taken beside a running server; with
/// <c>--store postgres</c> a PostgreSQL store's: <see cref="StateArchive.ExportFromAsync"/>) and
/// <c>statectl import FILE.tar.gz</c> (its restore into an empty directory, or with <c>--store postgres</c> into an
/// empty PostgreSQL store: <see cref="StateArchive.ImportIntoAsync"/>), both through <see cref="StateArchive"/>.
/// </summary>
internal static class ExportImportCommands
{
    public static Command CreateExport()
    {
        var file = new Argument<string>("FILE.tar.gz") { Description = "The archive to write (replaced atomically if it exists)." }.NotEmpty("the path of the archive to write");
        var command = new Command("export", "Write a consistent copy of the whole state (state, tasks, sessions, session logs, reports) to FILE.tar.gz; safe beside a running server. With --store postgres, a PostgreSQL store's.");
        command.Arguments.Add(file);
        KeyFileOption.AddTo(command);
        StoreChoice.AddOptionsTo(command);
        command.SetHandler(async (context, parsed, cancellation) =>
        {
            if (StoreChoice.From(parsed) is { IsPostgres: true } store)
            {
                return await ExportFromPostgresAsync(context, store, parsed.GetValue(file)!, cancellation).ConfigureAwait(false);
            }

            StateDirectoryRequirement.Require(context.StatePath);
            string archive = parsed.GetValue(file)!;
            try
            {
                return Report(context, "exported", StateArchive.Export(context.StatePath, archive, context.PayloadCodec(), null, cancellation));
            }
            catch (OperationCanceledException ex) when (cancellation.IsCancellationRequested)
            {
                // Said with what was left: before 2026-12-07 the export went on until the process ended mid-write, and
                // its partial temp file stayed beside FILE without a word.
                throw new CommandFailedException($"The export to '{Path.GetFullPath(archive)}' stopped before it finished, interrupted by a signal (Ctrl-C or SIGTERM); "
                    + "nothing was written: its temp file was removed, and an archive already at that path is as it was.", ExitCodes.Interrupted, ex);
            }
        });
        return command;
    }

    public static Command CreateImport()
    {
        var file = new Argument<string>("FILE.tar.gz") { Description = "An archive written by 'statectl export'." }.NotEmpty("the path of an archive 'statectl export' wrote");
        var command = new Command("import", "Restore FILE.tar.gz (from 'statectl export') into the state directory, which must be empty or missing; or, with --store postgres, into an empty PostgreSQL store.");
        command.Arguments.Add(file);
        KeyFileOption.AddTo(command);
        StoreChoice.AddOptionsTo(command);
        command.SetHandler(async (context, parsed, cancellation) =>
        {
            if (!StoreChoice.From(parsed).IsPostgres && Directory.Exists(context.StatePath))
            {
                // An empty directory made ready for the server (mkdir, chown): the import's files would be this user's.
                StateDirectoryOwner.RequireSameUser(context.StatePath);
            }

            try
            {
                return StoreChoice.From(parsed) is { IsPostgres: true } store
                    ? await ImportIntoPostgresAsync(context, store, parsed.GetValue(file)!, cancellation).ConfigureAwait(false)
                    : Report(context, "imported", StateArchive.Import(parsed.GetValue(file)!, context.StatePath, context.PayloadCodec(), cancellation));
            }
            catch (OperationCanceledException ex) when (cancellation.IsCancellationRequested && !StoreChoice.From(parsed).IsPostgres)
            {
                // Stopped between two files (the one being written removed): what to do next is what an operator needs.
                throw new CommandFailedException($"The import of '{Path.GetFullPath(parsed.GetValue(file)!)}' into '{Path.GetFullPath(context.StatePath)}' stopped before it finished, "
                    + "interrupted by a signal (Ctrl-C or SIGTERM): the directory holds part of it, and nothing opens it until the same import is run again, which resumes it.",
                    ExitCodes.Interrupted, ex);
            }
            catch (InvalidDataException ex)
            {
                throw new CommandFailedException(ex.Message, ExitCodes.Failed, ex);
            }
            catch (StateFormatException ex) when (IsTheArchiveWithoutAKey(ex, parsed.GetValue(file)!))
            {
                // The check of the archive, before anything is written, found its state.json sealed and no key given.
                // (A read-back of the written directory lacking the key names a file in it, and CommandActions says so.)
                throw ArchiveNeedsAKey(ex, parsed.GetValue(file)!);
            }
        });
        return command;
    }

    private static async Task<int> ExportFromPostgresAsync(CommandContext context, StoreChoice choice, string archive, CancellationToken cancellationToken)
    {
        if (Directory.Exists(Path.GetFullPath(archive)))
        {
            // Said before the database is reached, as the library's export says it before the store is copied: the same words.
            throw new CommandFailedException($"The archive '{Path.GetFullPath(archive)}' is a directory: give the path of the .tar.gz file to write. Nothing was written.");
        }

        StoreExportResult result = await choice.ReadAsync(async (connectionString, schema) =>
        {
            // An open creates a missing schema and upgrades an older one: an export must do neither.
            await PostgresStoreCheck.RequireCurrentAsync(connectionString, schema, cancellationToken).ConfigureAwait(false);
            await using var store = new PostgresStateStore(connectionString, schema, context.PayloadCodec());
            return await StateArchive.ExportFromAsync(store, archive, context.PayloadCodec(), cancellationToken).ConfigureAwait(false);
        }).ConfigureAwait(false);
        if (context.Json)
        {
            context.WriteJson(result, ArchiveJsonContext.Default.StoreExportResult);
            return ExitCodes.Success;
        }

        context.Console.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
            $"exported the PostgreSQL store {result.Store} at revision {result.StoreRevision}: {result.Tasks} task(s), {result.Sessions} session(s), {result.Logs} session log(s), {result.Reports} report(s); {result.Archive} ({result.Bytes:N0} bytes, revision {result.Revision} in the archive)")));
        return ExitCodes.Success;
    }

    private static async Task<int> ImportIntoPostgresAsync(CommandContext context, StoreChoice choice, string archive, CancellationToken cancellationToken)
    {
        StoreImportResult result = await choice.ReadAsync(async (connectionString, schema) =>
        {
            await using var store = new PostgresStateStore(connectionString, schema, context.PayloadCodec());
            try
            {
                return await StateArchive.ImportIntoAsync(archive, store, context.PayloadCodec(), cancellationToken).ConfigureAwait(false);
            }
            catch (StateFormatException ex) when (IsTheArchiveWithoutAKey(ex, archive))
            {
                // Said of the archive here, before the store choice's own reading of a key missing for sealed rows.
                throw ArchiveNeedsAKey(ex, archive);
            }
        }).ConfigureAwait(false);
        if (context.Json)
        {
            context.WriteJson(result, ArchiveJsonContext.Default.StoreImportResult);
            return ExitCodes.Success;
        }

        context.Console.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
            $"imported revision {result.ArchiveRevision} of {result.Archive}: {result.Tasks} task(s), {result.Sessions} session(s), {result.Logs} session log(s), {result.Reports} report(s) into the PostgreSQL store {result.Store}, now at revision {result.Revision}; {(result.Written == 0 ? "nothing written: the store already held all of it" : $"{result.Written} item(s), log(s) and report(s) written")}{(result.Written > 0 && result.AlreadyThere > 0 ? $", {result.AlreadyThere} already there from an earlier run cut short" : "")}")));
        return ExitCodes.Success;
    }

    private static bool IsTheArchiveWithoutAKey(StateFormatException ex, string archive) =>
        ex.ReaderLacksCodec && ex.Path?.StartsWith(Path.GetFullPath(archive), StringComparison.Ordinal) == true;

    private static CommandFailedException ArchiveNeedsAKey(StateFormatException ex, string archive) =>
        new($"The archive '{Path.GetFullPath(archive)}' is encrypted (its state.json is sealed with the codec "
            + $"'{ex.WrittenWithCodec}') and no key was given: pass --key-file FILE or set {EncryptionOptions.KeyFileVariable}. Nothing was written.",
            ExitCodes.Failed, ex);

    private static int Report(CommandContext context, string what, StateArchiveResult result)
    {
        // Still a success (the copy holds what the server would serve), but the operator must know it was rebuilt: on
        // standard error as every other warning of statectl, so it reaches the operator whatever stdout is piped into.
        foreach (StateDirectoryProblem problem in result.Problems)
        {
            context.Error.WriteLine("statectl: warning: " + problem);
        }

        if (context.Json)
        {
            context.WriteJson(result, ArchiveJsonContext.Default.StateArchiveResult);
            return ExitCodes.Success;
        }

        context.Console.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
            $"{what} revision {result.Revision}: {result.Tasks} task(s), {result.Sessions} session(s), {result.Logs} session log(s), {result.Reports} report(s); {result.Archive} ({result.Bytes:N0} bytes), state directory {result.StateDirectory}")));

        return ExitCodes.Success;
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(StateArchiveResult))]
[JsonSerializable(typeof(StoreImportResult))]
[JsonSerializable(typeof(StoreExportResult))]
internal sealed partial class ArchiveJsonContext : JsonSerializerContext;
