namespace StatePersistence.FileStore.Operations;

/// <summary>
/// How the read-only operations say that the file system refused to read a file (permission denied, an I/O error, a
/// directory where the file belongs): one wording, naming the file and the refusal, so an operator can grep for it.
/// </summary>
internal static class UnreadableFile
{
    /// <summary>Whether <paramref name="exception"/> is the file system refusing a read (not the file being gone).</summary>
    public static bool IsRefusal(Exception exception) =>
        exception is UnauthorizedAccessException or IOException && exception is not (FileNotFoundException or DirectoryNotFoundException);

    /// <summary>The problem, as <c>statectl verify</c> lists it.</summary>
    public static string Problem(string path, Exception exception) =>
        Directory.Exists(path)
            ? $"'{path}' is a directory, not a file: the store cannot read it, nor write the file there until it is moved away"
            : $"the file cannot be read ({exception.Message}); nothing was changed: check its permissions and the disk (dmesg), then verify again";
}
