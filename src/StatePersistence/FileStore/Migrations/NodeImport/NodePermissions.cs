namespace StatePersistence.FileStore.Migrations.NodeImport;

/// <summary>
/// The Node server left its directories 0755 and its files 0644 (the seed's troubleshooting even says
/// <c>chmod -R 755</c>): readable by every local user, tasks and logs included. This library's own files are
/// 0700/0600; an imported directory is tightened to the same, and each change is logged.
/// </summary>
internal static class NodePermissions
{
    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public static void Tighten(MigrationContext context)
    {
        StateLayout layout = context.Layout;
        var changes = new SortedDictionary<string, int>(StringComparer.Ordinal);
        string[] directories = [layout.Root, layout.TasksDirectory, layout.SessionsDirectory, layout.LogsDirectory, layout.ReportsDirectory];
        foreach (string directory in directories)
        {
            if (!context.FileSystem.DirectoryExists(directory))
            {
                continue;
            }

            Set(context, directory, DirectoryMode, "directory", changes);
            foreach (string name in context.FileSystem.ListFiles(directory))
            {
                Set(context, Path.Combine(directory, name), FileMode, "file", changes);
            }
        }

        foreach ((string change, int count) in changes)
        {
            context.Log.Add($"  permissions: {count} {change}");
        }
    }

    private static void Set(MigrationContext context, string path, UnixFileMode wanted, string kind, SortedDictionary<string, int> changes)
    {
        if (context.FileSystem.UnixModeOf(path) is not { } mode || mode == wanted)
        {
            return;
        }

        context.FileSystem.SetUnixMode(path, wanted);
        string what = (kind == "file" ? "file(s) " : "director(ies) ") + Octal(mode) + " -> " + Octal(wanted);
        changes[what] = changes.GetValueOrDefault(what) + 1;
    }

    /// <summary>A mode as <c>chmod</c> writes it (0644).</summary>
    public static string Octal(UnixFileMode mode) => "0" + Convert.ToString((int)mode, 8).PadLeft(3, '0');
}
