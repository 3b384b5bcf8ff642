using System.CommandLine;
using System.Text.Json;
using StatePersistence.Cli.Infrastructure;
using StatePersistence.Commit;
using StatePersistence.FileStore.Operations;
using StatePersistence.Ids;
using StatePersistence.Postgres;

namespace StatePersistence.Cli.Commands.Tasks;

/// <summary><c>statectl tasks show ID</c>: one task's JSON as stored (in the state directory, or in a PostgreSQL store with <c>--store postgres</c>); exit 1 naming the id when there is none.</summary>
internal static class TasksShowCommand
{
    private static readonly Argument<string> Id = new("ID") { Description = "The task's id." };

    public static Command Create()
    {
        var command = new Command("show", "Print one task's JSON, as the state holds it (exit 1 when there is no such task); of the state directory, or of a PostgreSQL store (--store postgres).");
        command.Arguments.Add(Id);
        StoreChoice.AddOptionsTo(command);
        command.SetHandler(async (context, parsed, cancellation) =>
        {
            string id = parsed.GetValue(Id)!;
            if (StateId.Problem(id) is { } problem)
            {
                throw new CommandFailedException($"'{id}' is not a task id: {problem}", ExitCodes.Usage);
            }

            StoredItem task = StoreChoice.From(parsed) is { IsPostgres: true } store
                ? await FromPostgresAsync(context, store, id, cancellation).ConfigureAwait(false)
                : FromDirectory(context, id);
            Write(context, task);
            return ExitCodes.Success;
        });
        return command;
    }

    private static StoredItem FromDirectory(CommandContext context, string id)
    {
        StateDirectoryView read = DirectoryReading.Read(context);
        return read.View.Tasks.TryGetValue(id, out StoredItem? task)
            ? task
            : throw new CommandFailedException($"There is no task '{id}' in the state directory '{read.StateDirectory}' (revision {read.View.Revision}).");
    }

    private static async Task<StoredItem> FromPostgresAsync(CommandContext context, StoreChoice store, string id, CancellationToken cancellationToken)
    {
        StoredItem? task = null;
        PostgresTaskScan read = await TasksOnPostgres.ScanAsync(context, store, id, found => task = found, cancellationToken).ConfigureAwait(false);
        if (task is not null)
        {
            return task;
        }

        // Its row was warned about above when it is damaged; the failure still names the task.
        throw new CommandFailedException(read.Problems.Count > 0
            ? $"The task '{id}' in the PostgreSQL store {read.Location} cannot be read: {read.Problems[0].Problem}"
            : $"There is no task '{id}' in the PostgreSQL store {read.Location} (revision {read.Revision}).");
    }

    private static void Write(CommandContext context, StoredItem task)
    {
        // The stored JSON, indented; the same with or without --json, since it is JSON either way.
        using JsonDocument document = JsonDocument.Parse(task.Json);
        context.Output.WriteLine(CliJson.Write(document.RootElement, indented: true));
        context.Output.Flush();
    }
}
