using System.CommandLine;
using System.Globalization;
using System.Text.Json.Serialization;
using Spectre.Console;
using StatePersistence.Cli.Infrastructure;
using StatePersistence.FileStore.Operations;

namespace StatePersistence.Cli.Commands.Verify;

/// <summary>
/// <c>statectl verify</c>: reads everything and lists each problem (file, id, what is wrong); exit 1 when it found any.
/// Changes nothing, so it is safe beside a running server.
/// </summary>
internal static class VerifyCommand
{
    public static Command Create()
    {
        var command = new Command("verify", "Read everything (state, backups, journal, tasks, sessions, logs, reports) and list each problem; exit 1 when there is any. Changes nothing.");
        KeyFileOption.AddTo(command);
        command.SetHandler((context, _, _) => Task.FromResult(Run(context)));
        return command;
    }

    private static int Run(CommandContext context)
    {
        StateDirectorySigns.Require(context.StatePath);

        StateDirectoryVerification result = StateDirectoryVerifier.Verify(context.StatePath, context.PayloadCodec());
        int exit = result.Ok ? ExitCodes.Success : ExitCodes.Failed;
        if (context.Json)
        {
            context.WriteJson(new VerifyReport(result.StateDirectory, result.Ok, result.Revision, result.FilesChecked, result.Problems, result.Quarantined),
                VerifyJsonContext.Default.VerifyReport);
            return exit;
        }

        string files = string.Join(", ", result.FilesChecked.Select(k => string.Create(CultureInfo.InvariantCulture, $"{k.Value} {k.Key}")));
        if (result.Ok)
        {
            context.Console.MarkupLine(Markup.Escape($"OK: no problems in {result.StateDirectory} ({files})."));
        }
        else
        {
            var table = new Table().AddColumn("file").AddColumn("id").AddColumn("problem");
            foreach (StateDirectoryProblem problem in result.Problems)
            {
                table.AddRow(Markup.Escape(Path.GetRelativePath(result.StateDirectory, problem.Path)), Markup.Escape(problem.Id ?? "-"), Markup.Escape(problem.Problem));
            }

            table.Caption(Markup.Escape($"{result.Problems.Count} problem(s) in {result.StateDirectory} ({files})"));
            context.Console.Write(table);
        }

        foreach (string path in result.Quarantined)
        {
            context.Console.MarkupLine(Markup.Escape($"moved aside earlier (kept for inspection): {Path.GetRelativePath(result.StateDirectory, path)}"));
        }

        return exit;
    }
}

/// <summary>What <c>statectl verify --json</c> prints.</summary>
internal sealed record VerifyReport(string StateDirectory, bool Ok, long? Revision, IReadOnlyDictionary<string, int> FilesChecked,
    IReadOnlyList<StateDirectoryProblem> Problems, IReadOnlyList<string> Quarantined);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(VerifyReport))]
internal sealed partial class VerifyJsonContext : JsonSerializerContext;
