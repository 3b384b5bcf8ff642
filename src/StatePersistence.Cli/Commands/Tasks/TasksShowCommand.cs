using System.CommandLine;
using System.Text.Json;
using StatePersistence.Cli.Infrastructure;
using StatePersistence.Commit;
using StatePersistence.FileStore.Operations;
using StatePersistence.Ids;

namespace StatePersistence.Cli.Commands.Tasks;

/// <summary><c>statectl tasks show ID</c>: one task's JSON as stored; exit 1 naming the id when there is none.</summary>
internal static class TasksShowCommand
{
    private static readonly Argument<string> Id = new("ID") { Description = "The task's id." };

    public static Command Create()
    {
        var command = new Command("show", "Print one task's JSON, as the state holds it (exit 1 when there is no such task).");
        command.Arguments.Add(Id);
        command.SetHandler((context, parsed, _) => Task.FromResult(Run(context, parsed.GetValue(Id)!)));
        return command;
    }

    private static int Run(CommandContext context, string id)
    {
        if (StateId.Problem(id) is { } problem)
        {
            throw new CommandFailedException($"'{id}' is not a task id: {problem}", ExitCodes.Usage);
        }

        StateDirectoryView read = DirectoryReading.Read(context);
        if (!read.View.Tasks.TryGetValue(id, out StoredItem? task))
        {
            throw new CommandFailedException($"There is no task '{id}' in the state directory '{read.StateDirectory}' (revision {read.View.Revision}).");
        }

        // The stored JSON, indented; the same with or without --json, since it is JSON either way.
        using JsonDocument document = JsonDocument.Parse(task.Json);
        using var output = new MemoryStream();
        using (var writer = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true }))
        {
            document.WriteTo(writer);
        }

        context.Output.WriteLine(System.Text.Encoding.UTF8.GetString(output.ToArray()));
        context.Output.Flush();
        return ExitCodes.Success;
    }
}
