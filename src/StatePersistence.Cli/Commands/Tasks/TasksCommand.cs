using System.CommandLine;
using StatePersistence.Cli.Infrastructure;

namespace StatePersistence.Cli.Commands.Tasks;

/// <summary><c>statectl tasks ...</c>: the tasks of the state directory (<c>list</c>, <c>show</c>: read-only; <c>edit</c>: through the writer lock).</summary>
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
