using StatePersistence.Errors;

namespace StatePersistence.Encryption;

public static partial class EncryptionKeyFile
{
    /// <summary>
    /// Changes the key file at <paramref name="path"/>: reads its ring, lets <paramref name="change"/> make the new one
    /// (it may take its time: a removal scans the state directory), and writes that, all under the file's lock
    /// (<see cref="KeyFileLock"/>), so changes made at once by several processes follow one another instead of each
    /// writing back the ring it read. Before writing it checks that the file still holds exactly what was read: a
    /// writer that does not take the lock (an older <c>statectl</c>, an editor, a restored copy) changed it meanwhile,
    /// and writing would undo that change, so it throws <see cref="StatePersistenceException"/> naming the file and
    /// writes nothing. Returns the new ring.
    /// </summary>
    internal static EncryptionKeyRing Update(string path, string? stateDirectory, Func<EncryptionKeyRing, EncryptionKeyRing> change)
    {
        string full = CheckLocation(FollowLink(CheckLocation(path, stateDirectory)), stateDirectory);
        RequireDirectory(full);

        // Before the lock: taking it makes '<key file>.lock', and a mistyped path would leave one beside the key files.
        RequireExists(full);
        using IDisposable locked = KeyFileLock.Acquire(full);
        byte[] read = ReadContent(full);
        try
        {
            EncryptionKeyRing changed = change(Parse(read, full));
            RequireUnchanged(full, read);
            Write(full, changed);
            return changed;
        }
        finally
        {
            Array.Clear(read);
        }
    }

    /// <summary>
    /// The file a change of the key file <paramref name="full"/> goes into: when it is a symbolic link
    /// (<c>/etc/sp/keys.json</c> to <c>/secure/keys.json</c>, as configuration is often linked), the link's final target,
    /// as <c>sed -i --follow-symlinks</c> and editors treat one. The atomic write then renames over the target and the
    /// link stays a link (a rename over the link's path replaced it with a regular file before 2026-12-07), and the lock
    /// is the target's, so runs given the link and runs given the target follow one another. A link whose target does
    /// not exist is refused naming both: writing would create a key file where the operator may not expect one.
    /// </summary>
    private static string FollowLink(string full) => FollowLink(full, targetMayBeMissing: false);

    /// <summary>
    /// As <see cref="FollowLink(string)"/>; with <paramref name="targetMayBeMissing"/> (a create) a link whose target
    /// does not exist yet gives that target, which the create then writes, as <c>cp</c> does through a link.
    /// </summary>
    private static string FollowLink(string full, bool targetMayBeMissing)
    {
        if (new FileInfo(full).LinkTarget is null)
        {
            return full;
        }

        FileSystemInfo? target;
        try
        {
            target = File.ResolveLinkTarget(full, returnFinalTarget: true);
        }
        catch (IOException ex)
        {
            // Links that loop, or one too many in the chain.
            throw new StatePersistenceException($"The key file '{full}' is a symbolic link that cannot be followed ({ex.Message}); nothing was changed.", full, innerException: ex);
        }

        if (target is null)
        {
            return full;
        }

        return target.Exists || targetMayBeMissing
            ? target.FullName
            : throw new StatePersistenceException(
                $"The key file '{full}' is a symbolic link to '{target.FullName}', which does not exist; nothing was changed. Point the link at the key file, or give the key file's own path.", full);
    }

    private static void RequireUnchanged(string full, byte[] read)
    {
        byte[] now;
        try
        {
            now = File.Exists(full) ? File.ReadAllBytes(full) : [];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StatePersistenceException($"The key file '{full}' cannot be read again before it is written ({ex.Message}); nothing was changed.", full, isTransient: ex is IOException, innerException: ex);
        }

        try
        {
            if (!now.AsSpan().SequenceEqual(read))
            {
                throw new StatePersistenceException(
                    $"The key file '{full}' was changed by another writer while this change was being made (one that does not take its lock '{KeyFileLock.PathOf(full)}': an older statectl, an editor, a copy put back); nothing was written, so that change stays. See what the file holds now with 'statectl keys list' and run the command again.",
                    full);
            }
        }
        finally
        {
            Array.Clear(now);
        }
    }
}
