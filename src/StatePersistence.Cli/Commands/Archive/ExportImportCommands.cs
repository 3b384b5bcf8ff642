using System.CommandLine;
using System.Globalization;
using System.Text.Json.Serialization;
using Spectre.Console;
using StatePersistence.Cli.Infrastructure;
using StatePersistence.Encryption;
using StatePersistence.Errors;
using StatePersistence.FileStore.Operations;

namespace StatePersistence.Cli.Commands.Archive;

/// <summary>
/// <c>statectl export FILE.tar.gz</c> (a consistent copy of the whole state, taken beside a running server) and
/// <c>statectl import FILE.tar.gz</c> (its restore into an empty directory), both through <see cref="StateArchive"/>.
/// </summary>
internal static class ExportImportCommands
{
    public static Command CreateExport()
    {
        var file = new Argument<string>("FILE.tar.gz") { Description = "The archive to write (replaced atomically if it exists)." };
        var command = new Command("export", "Write a consistent copy of the whole state (state, tasks, sessions, session logs, reports) to FILE.tar.gz; safe beside a running server.");
        command.Arguments.Add(file);
        KeyFileOption.AddTo(command);
        command.SetHandler((context, parsed, _) =>
        {
            StateDirectorySigns.Require(context.StatePath);

            return Task.FromResult(Report(context, "exported", StateArchive.Export(context.StatePath, parsed.GetValue(file)!, context.PayloadCodec())));
        });
        return command;
    }

    public static Command CreateImport()
    {
        var file = new Argument<string>("FILE.tar.gz") { Description = "An archive written by 'statectl export'." };
        var command = new Command("import", "Restore FILE.tar.gz (from 'statectl export') into the state directory, which must be empty or missing.");
        command.Arguments.Add(file);
        KeyFileOption.AddTo(command);
        command.SetHandler((context, parsed, _) =>
        {
            try
            {
                return Task.FromResult(Report(context, "imported", StateArchive.Import(parsed.GetValue(file)!, context.StatePath, context.PayloadCodec())));
            }
            catch (InvalidDataException ex)
            {
                throw new CommandFailedException(ex.Message, ExitCodes.Failed, ex);
            }
            catch (StateFormatException ex) when (ex.ReaderLacksCodec && ex.Path?.StartsWith(Path.GetFullPath(parsed.GetValue(file)!), StringComparison.Ordinal) == true)
            {
                // The check of the archive, before anything is written, found its state.json sealed and no key given.
                // (A read-back of the written directory lacking the key names a file in it, and CommandActions says so.)
                throw new CommandFailedException($"The archive '{Path.GetFullPath(parsed.GetValue(file)!)}' is encrypted (its state.json is sealed with the codec "
                    + $"'{ex.WrittenWithCodec}') and no key was given: pass --key-file FILE or set {EncryptionOptions.KeyFileVariable}. Nothing was written.",
                    ExitCodes.Failed, ex);
            }
        });
        return command;
    }

    private static int Report(CommandContext context, string what, StateArchiveResult result)
    {
        if (context.Json)
        {
            context.WriteJson(result, ArchiveJsonContext.Default.StateArchiveResult);
            return ExitCodes.Success;
        }

        context.Console.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
            $"{what} revision {result.Revision}: {result.Tasks} task(s), {result.Sessions} session(s), {result.Logs} session log(s), {result.Reports} report(s); {result.Archive} ({result.Bytes:N0} bytes), state directory {result.StateDirectory}")));

        // Still a success (the copy holds what the server would serve), but the operator must know it was rebuilt.
        foreach (StateDirectoryProblem problem in result.Problems)
        {
            context.Console.MarkupLine("[yellow]warning: " + Markup.Escape(problem.ToString()) + "[/]");
        }

        return ExitCodes.Success;
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(StateArchiveResult))]
internal sealed partial class ArchiveJsonContext : JsonSerializerContext;
