using StatePersistence.Errors;
using StatePersistence.FileSystem;

namespace StatePersistence.Encryption;

/// <summary>
/// The lock that serializes changes to one key file: an OS lock (flock) on <c>&lt;key file&gt;.lock</c> beside it,
/// mode 0600, released by the kernel when the holder dies. A change holds it from its read of the file to its write,
/// the usage scan of a removal included: two changes that each read the ring and wrote back their own version would
/// otherwise drop what the other added (a rotation's new key, already sealing payloads, lost to a removal's older
/// ring). The file stays when released: deleting it would let a waiter lock a file another process just recreated.
/// </summary>
internal static class KeyFileLock
{
    /// <summary>How long a change waits for another one to finish before it gives up.</summary>
    public static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(50);

    /// <summary>The lock file of <paramref name="keyFile"/> (a full path).</summary>
    public static string PathOf(string keyFile) => keyFile + ".lock";

    /// <summary>
    /// Takes the lock of <paramref name="keyFile"/>, waiting up to <paramref name="wait"/> (default
    /// <see cref="DefaultWait"/>) while another process holds it; then throws <see cref="StatePersistenceException"/>
    /// naming the file, nothing changed.
    /// </summary>
    public static IDisposable Acquire(string keyFile, TimeSpan? wait = null)
    {
        string path = PathOf(keyFile);
        DateTime deadline = DateTime.UtcNow + (wait ?? DefaultWait);
        while (true)
        {
            try
            {
                IDisposable held = PhysicalFileSystem.Instance.AcquireLock(path);
                try
                {
                    KeepKeyFileOwner(keyFile, path);
                }
                catch
                {
                    held.Dispose();
                    throw;
                }

                return held;
            }
            catch (IOException ex) when (IsHeldByAnother(ex))
            {
                if (DateTime.UtcNow >= deadline)
                {
                    throw new StatePersistenceException(
                        $"The key file '{keyFile}' is being changed by another process (it holds '{path}'); nothing was changed. Run the command again once that one has finished.",
                        keyFile, isTransient: true, innerException: ex);
                }

                Thread.Sleep(Poll);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new StatePersistenceException($"The key file's lock '{path}' cannot be taken ({ex.Message}); nothing was changed.", keyFile, innerException: ex);
            }
        }
    }

    /// <summary>EWOULDBLOCK (11 on Linux, 35 on macOS) or a sharing violation on Windows: another holder, not a disk failure.</summary>
    /// <summary>
    /// The lock made by a run as root belongs to the key file's owner, as the key file does (see
    /// <see cref="EncryptionKeyFile.Write"/>): a root-owned lock, mode 0600, refused every later run as that user.
    /// </summary>
    private static void KeepKeyFileOwner(string keyFile, string lockFile)
    {
        if (OperatingSystem.IsLinux() && PosixNative.OwnerOf(keyFile) is { } owner)
        {
            EncryptionKeyFile.KeepOwner(lockFile, owner);
        }
    }

    private static bool IsHeldByAnother(IOException ex) => ex.HResult is 11 or 35 or unchecked((int)0x80070020);
}
