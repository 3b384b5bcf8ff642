using System.Globalization;
using System.Runtime.InteropServices;

namespace StatePersistence.Cli.Infrastructure;

/// <summary>
/// Checked before a command changes a state directory: every file the store writes is mode 0600 and belongs to whoever
/// writes it, so a command run by another user than the server's (root, through sudo, at 3 a.m.) leaves a journal
/// segment, <c>state.json</c> and item files the server can no longer read, and the server then refuses to start
/// ("Access to the path '…/state.json' is denied"). The server's user is taken from the files it wrote: the owner of
/// <c>state.json</c>, else of the directory (a server run as root in a directory another user owns, as with a bind mount
/// into a container, writes root's <c>state.json</c>, and root may change it).
/// </summary>
internal static partial class StateDirectoryOwner
{
    /// <summary>
    /// Throws a <see cref="CommandFailedException"/> naming the directory, both users and what to run when this process
    /// runs as another user than the one owning <paramref name="statePath"/>'s state. Nothing is checked off Linux, nor
    /// for a directory that does not exist (the command's own check names that).
    /// </summary>
    public static void RequireSameUser(string statePath)
    {
        if (!OperatingSystem.IsLinux() || (OwnerOf(Path.Combine(statePath, "state.json")) ?? OwnerOf(statePath)) is not { } owner)
        {
            return;
        }

        uint self = EffectiveUserId();
        if (self == owner)
        {
            return;
        }

        string ownerName = UserName(owner);
        string selfName = UserName(self);
        throw new CommandFailedException(
            $"The state directory '{statePath}' belongs to the user {Describe(ownerName, owner)}, and statectl runs as {Describe(selfName, self)}: "
            + $"the files this command would write there (the journal, state.json, item files, each mode 0600) would be {selfName}'s, "
            + $"which a server running as {ownerName} cannot read (it refuses to start). "
            + $"Run the command as that user (sudo -u {(ownerName.StartsWith('#') ? $"'{ownerName}'" : ownerName)} statectl ...); nothing was changed.");
    }

    private static string Describe(string name, uint id) =>
        name.StartsWith('#') ? $"with uid {id.ToString(CultureInfo.InvariantCulture)}" : $"'{name}' (uid {id.ToString(CultureInfo.InvariantCulture)})";

    /// <summary>The name /etc/passwd gives <paramref name="id"/>, else the number (as sudo -u takes it: '#1001').</summary>
    private static string UserName(uint id)
    {
        string number = id.ToString(CultureInfo.InvariantCulture);
        try
        {
            foreach (string line in File.ReadLines("/etc/passwd"))
            {
                string[] fields = line.Split(':');
                if (fields.Length > 2 && fields[2] == number)
                {
                    return fields[0];
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Only the name is lost: the uid still says who.
        }

        return "#" + number;
    }

    private static uint? OwnerOf(string path)
    {
        var buffer = default(StatxBuffer);
        if (Statx(AtFdCwd, path, 0, StatxOwner, ref buffer) == 0)
        {
            return buffer.User;
        }

        int errno = Marshal.GetLastPInvokeError();
        return errno is NoSuchFile or NotADirectory
            ? null
            : throw new IOException($"statx of '{path}' failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).", errno);
    }

    private const int AtFdCwd = -100;
    private const uint StatxOwner = 0x8;
    private const int NoSuchFile = 2;
    private const int NotADirectory = 20;

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint EffectiveUserId();

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int directoryFd, string path, int flags, uint mask, ref StatxBuffer buffer);

    /// <summary>struct statx (256 bytes): only the owner is read.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct StatxBuffer
    {
        [FieldOffset(20)]
        public uint User;
    }
}
