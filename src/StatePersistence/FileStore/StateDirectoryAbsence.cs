namespace StatePersistence.FileStore;

/// <summary>
/// What to say of a state directory that is not there. A file at its path is named as a file: "does not exist" sent
/// an operator who had given a file's path looking for a directory that was never there.
/// </summary>
internal static class StateDirectoryAbsence
{
    public static string Describe(string root) => File.Exists(root)
        ? $"The state directory '{root}' is a file, not a directory: give the directory the store keeps its state in."
        : $"The state directory '{root}' does not exist.";
}
