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

    /// <summary>
    /// The operating system's own words for a refusal: for a permission error .NET's message is "Access to the path ... is
    /// denied." and the OS error (<c>Permission denied</c>, <c>Operation not permitted</c>) is its inner exception's;
    /// any other error's message is the OS error already (<c>Input/output error : '...'</c>).
    /// </summary>
    public static string OsError(Exception exception) =>
        exception is UnauthorizedAccessException { InnerException: IOException { Message.Length: > 0 } os } ? os.Message : exception.Message;

    /// <summary>The problem, as <c>statectl verify</c> lists it.</summary>
    public static string Problem(string path, Exception exception) =>
        Directory.Exists(path)
            ? $"'{path}' is a directory, not a file: the store cannot read it, nor write the file there until it is moved away"
            : $"the file cannot be read ({exception.Message}); nothing was changed: check its permissions and the disk (dmesg), then verify again";
}
