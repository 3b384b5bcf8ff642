using StatePersistence.FileStore.Operations;

namespace StatePersistence.Cli.Infrastructure;

/// <summary>The read-only commands' view of the state directory: a consistent read, its problems warned about on standard error.</summary>
internal static class DirectoryReading
{
    public static StateDirectoryView Read(CommandContext context, bool checkItemFiles = false)
    {
        StateDirectoryRequirement.Require(context.StatePath);

        StateDirectoryView view = StateDirectoryReader.Read(context.StatePath, context.PayloadCodec(), checkItemFiles: checkItemFiles);
        foreach (StateDirectoryProblem problem in view.Problems)
        {
            context.Error.WriteLine("statectl: warning: " + problem);
        }

        return view;
    }
}
