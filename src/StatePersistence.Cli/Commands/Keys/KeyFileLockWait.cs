using System.Globalization;

namespace StatePersistence.Cli.Commands.Keys;

/// <summary>
/// A change of the key file waits (up to 60 s) while another change holds the lock <c>&lt;key file&gt;.lock</c>
/// (<c>EncryptionKeyOperations</c>); without a word, an operator sees a command hang. Before the change, this says on
/// standard error that it waits, for which lock, and the process holding it when Linux tells (<c>/proc/locks</c> and
/// the holder's open files).
/// </summary>
internal static class KeyFileLockWait
{
    private const string LocksFile = "/proc/locks";

    public static void Announce(TextWriter error, string keyFile)
    {
        string full = LinkTargetOf(Path.GetFullPath(keyFile));
        string lockFile = full + ".lock";
        if (!IsHeld(lockFile))
        {
            return;
        }

        string holder = HolderOf(lockFile) is { } pid ? $", held by process {pid.ToString(CultureInfo.InvariantCulture)}{CommandLineOf(pid)}" : "";
        error.WriteLine($"statectl: waiting for the lock '{lockFile}'{holder}: another change of the key file '{full}' is running; "
            + "this one runs once it has finished (it gives up after 60 s, changing nothing).");
        error.Flush();
    }

    /// <summary>
    /// A key file given as a symbolic link is changed in its final target, under the target's lock (the library's
    /// <c>EncryptionKeyFile</c>): that lock is the one waited for. A link that cannot be followed is named by the change itself.
    /// </summary>
    private static string LinkTargetOf(string full)
    {
        try
        {
            return new FileInfo(full).LinkTarget is not null && File.ResolveLinkTarget(full, returnFinalTarget: true) is { } target ? target.FullName : full;
        }
        catch (IOException)
        {
            return full;
        }
    }

    /// <summary>Whether another process holds the lock: taking it as the library does (flock, non-blocking) fails; released at once.</summary>
    private static bool IsHeld(string lockFile)
    {
        try
        {
            using var probe = new FileStream(lockFile, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.ReadWrite, Share = FileShare.None, BufferSize = 0 });
            return false;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            // No lock file yet, or one this user cannot open: the change itself says what is wrong.
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    /// <summary>
    /// The process whose flock (a line of <c>/proc/locks</c>) is on a descriptor of <paramref name="lockFile"/>; null
    /// when it cannot be told. The kernel hands <c>/proc/locks</c> out a page at a time, each page resuming at a line
    /// number, so beside processes taking and dropping locks a line is skipped now and then: a CI run with many test
    /// processes holding locks lost the holder's line (KeyFileLockHolderTests: a few percent of readings beside two
    /// threads churning 150 locks). The list is read again, up to <see cref="Readings"/> times; a process
    /// already found not to have the file open is not looked at again.
    /// </summary>
    private static int? HolderOf(string lockFile)
    {
        if (!OperatingSystem.IsLinux() || !File.Exists(LocksFile))
        {
            return null;
        }

        var notHolders = new HashSet<int>();
        for (int reading = 0; reading < Readings; reading++)
        {
            try
            {
                foreach (string line in File.ReadLines(LocksFile))
                {
                    // "1: FLOCK  ADVISORY  WRITE 12345 08:01:1234567 0 EOF"; a waiter's line has "->" after the number.
                    string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (fields.Length >= 6 && fields[1] == "FLOCK" && int.TryParse(fields[4], NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
                        && !notHolders.Contains(pid))
                    {
                        if (HasOpen(pid, lockFile))
                        {
                            return pid;
                        }

                        notHolders.Add(pid);
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // /proc unreadable: the message goes without the holder.
                return null;
            }
        }

        return null;
    }

    /// <summary>How many times <c>/proc/locks</c> is read for the holder's line.</summary>
    private const int Readings = 20;

    private static bool HasOpen(int pid, string path)
    {
        try
        {
            return Directory.EnumerateFileSystemEntries($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/fd")
                .Any(fd => new FileInfo(fd).LinkTarget == path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Another user's process, or one that ended meanwhile.
            return false;
        }
    }

    private static string CommandLineOf(int pid)
    {
        try
        {
            string commandLine = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/cmdline").Replace('\0', ' ').Trim();
            return commandLine.Length == 0 ? "" : $" ({(commandLine.Length > 120 ? commandLine[..120] + "..." : commandLine)})";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }
}
