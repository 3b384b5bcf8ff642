using StatePersistence.FileSystem;

namespace StatePersistence.FileStore;

/// <summary>
/// Removes the temp files a failed write leaves behind. Such a file was never renamed into place, so nothing needs
/// it; but on a full disk it holds the very space the next attempt needs, and left there, each failed write would fill
/// the volume further until the next start or listing happened to remove it.
/// </summary>
internal static class FailedWriteCleanup
{
    /// <summary>
    /// Deletes <paramref name="temps"/> (a missing one is fine: the failure may have come before its create; a checkpoint
    /// also names the backup it linked for the snapshot that failed) after
    /// <paramref name="failure"/>. Returns null when they are gone, for the caller to rethrow the failure as it is;
    /// when a removal failed too, the exception to throw instead, so that neither is hidden: the failure's message
    /// followed by what could not be removed, the failure as its inner exception, of a type its callers already
    /// catch (an <see cref="IOException"/> keeps its errno).
    /// </summary>
    public static Exception? RemoveTemps(IFileSystem fileSystem, IEnumerable<string> temps, Exception failure)
    {
        List<string>? notRemoved = null;
        foreach (string temp in temps)
        {
            try
            {
                fileSystem.Delete(temp);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                (notRemoved ??= []).Add($"'{temp}' ({ex.Message})");
            }
        }

        if (notRemoved is null)
        {
            return null;
        }

        string message = $"{failure.Message.TrimEnd('.', ' ')}; the file(s) it left could not be removed either: {string.Join(", ", notRemoved)}.";
        return failure switch
        {
            UnauthorizedAccessException => new UnauthorizedAccessException(message, failure),
            IOException => new IOException(message, failure) { HResult = failure.HResult },
            _ => new AggregateException(message, failure),
        };
    }

    /// <summary><see cref="RemoveTemps(IFileSystem, IEnumerable{string}, Exception)"/> for one temp file.</summary>
    public static Exception? RemoveTemp(IFileSystem fileSystem, string temp, Exception failure) => RemoveTemps(fileSystem, [temp], failure);
}
