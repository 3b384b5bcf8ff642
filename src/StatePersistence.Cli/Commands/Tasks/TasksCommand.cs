using System.CommandLine;
using StatePersistence.Cli.Infrastructure;

namespace StatePersistence.Cli.Commands.Tasks;

/// <summary><c>statectl tasks ...</c>: the tasks of the state directory or, with <c>--store postgres</c>, of a PostgreSQL store (<c>list</c>, <c>show</c>: read-only; <c>edit</c>: a conditional write, through the writer lock on a directory).</summary>
internal static class TasksCommand
{
    public static Command Create()
    {
        var command = new Command("tasks", "The tasks in the state directory.");
        KeyFileOption.AddTo(command);
        command.Subcommands.Add(TasksListCommand.Create());
        command.Subcommands.Add(TasksShowCommand.Create());
        command.Subcommands.Add(TasksEditCommand.Create());
        return command;
    }
}
