using StatePersistence.Ids;

namespace StatePersistence.FileStore.Migrations.NodeImport;

/// <summary>
/// The Node server named each task and session file after the item's id (<c>tasks/&lt;id&gt;.json</c>) whatever the
/// id held, so a task <c>t.5</c> left <c>tasks/t.5.json</c>. This library's ids are ASCII letters, digits, <c>_</c> and
/// <c>-</c>: such a file cannot be imported under its name. Recovery skipped a name with a dot without a word, and every
/// later start left it in <c>tasks/</c> (which <c>statectl verify</c> then listed for ever); it is moved aside instead,
/// as a corrupt file is, so the migration log, the recovery report and <c>health</c> name it and its bytes are kept.
/// A file the Node server never wrote (not <c>.json</c>) is left in place, as any start leaves a foreign file, and
/// logged.
/// </summary>
internal static class NodeItemFileNames
{
    public static void SetAsideUnimportable(MigrationContext context)
    {
        StateLayout layout = context.Layout;
        foreach ((string directory, string kind) in (ReadOnlySpan<(string, string)>)[(layout.TasksDirectory, "task"), (layout.SessionsDirectory, "session")])
        {
            foreach (string name in context.FileSystem.ListFiles(directory).Order(StringComparer.Ordinal))
            {
                if (StateLayout.IsTempFile(name) || name.Contains(StateLayout.CorruptMarker, StringComparison.Ordinal))
                {
                    continue; // removed as never acknowledged, or already moved aside by this library
                }

                string path = Path.Combine(directory, name);
                if (!name.EndsWith(".json", StringComparison.Ordinal))
                {
                    context.Log.Add($"  {context.Relative(path)}: not a Node {kind} file (those are '<id>.json'); left in place, as any start leaves a file "
                        + "it does not know (statectl verify lists it)");
                    continue;
                }

                string id = name[..^".json".Length];
                if (StateId.Problem(id) is { } problem)
                {
                    context.MoveAside(path, $"the {kind} id {StateId.Quote(id)} its name gives is not valid here: {problem}", "cannot be imported under its name");
                }
            }
        }
    }
}
