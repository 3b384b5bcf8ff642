using StatePersistence.FileStore.SessionLog;
using StatePersistence.FileSystem;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.FileStore.Operations;

/// <summary>
/// The session logs as copied into an export: each up to the end of its last complete frame, its rotated parts with
/// it, streamed from the files into the archive (a log of gigabytes is copied in the memory of its largest append).
/// A last append that is whole but fails its checksum is judged as <c>statectl verify</c> judges it
/// (<see cref="DamagedLastAppendJudgement"/>): still there after the settle time, it is left out and named.
/// </summary>
internal static class SessionLogExport
{
    /// <summary>
    /// Hands <paramref name="add"/> every file of <c>logs/</c> an export holds (not temp, quarantined or marker files),
    /// a session's files together, each as a stream of what is copied. A session's live log and rotated parts are opened
    /// as one: when a rotation of a running server renamed any of them meanwhile (a name now holds another file), they
    /// are opened again, so the copy never holds a part twice or misses one. The handles keep the files as opened, so
    /// what is copied is what was judged. A rotation renames each part in turn, with a directory fsync after each, so
    /// the attempts wait between them (<see cref="ReadRetry"/>, through <paramref name="pause"/>; <see cref="Thread.Sleep(TimeSpan)"/>
    /// when null) for it to finish; so does the read again of a log whose last append looks damaged. A last append that
    /// is whole but still fails its checksum on that read (damage at rest, not an append in flight) is not copied (an
    /// import refuses a log holding it) and is named in <paramref name="leftOut"/>. Returns how many files were added.
    /// </summary>
    public static int CopyAll(IFileSystem fileSystem, StateLayout layout, PayloadEnvelope envelope, Action<string, Stream> add,
        List<StateDirectoryProblem> leftOut, Action<TimeSpan>? pause = null)
    {
        int count = 0;
        foreach (IGrouping<string, string> group in fileSystem.ListFiles(layout.LogsDirectory).Where(Exported).Order(StringComparer.Ordinal)
            .GroupBy(SessionOf, StringComparer.Ordinal))
        {
            List<OpenedLog> opened = OpenTogether(fileSystem, layout, envelope, group.Key, [.. group], pause ?? Thread.Sleep);
            try
            {
                foreach ((string name, IFileHandle handle, long end, StateDirectoryProblem? damagedLastAppend) in opened)
                {
                    if (damagedLastAppend is not null)
                    {
                        leftOut.Add(damagedLastAppend);
                    }

                    using var content = new FileHandleRangeStream(handle, end);
                    add(name, content);
                    count++;
                }
            }
            finally
            {
                opened.ForEach(f => f.Handle.Dispose());
            }
        }

        return count;
    }

    /// <summary>A file of a session opened for the copy: how much of it is copied, and the damaged last append left out, if any.</summary>
    private sealed record OpenedLog(string Name, IFileHandle Handle, long End, StateDirectoryProblem? DamagedLastAppend);

    private static List<OpenedLog> OpenTogether(IFileSystem fileSystem, StateLayout layout, PayloadEnvelope envelope,
        string group, List<string> names, Action<TimeSpan> pause)
    {
        for (int attempt = 1; attempt <= ReadRetry.MaxAttempts; attempt++)
        {
            if (attempt > 1)
            {
                pause(ReadRetry.PauseBefore(attempt));
            }

            List<(string Name, ulong? Device, ulong? Inode)> before = Identities(fileSystem, layout, names);
            var opened = new List<OpenedLog>();
            try
            {
                foreach (string name in names)
                {
                    IFileHandle handle;
                    try
                    {
                        handle = fileSystem.Open(Path.Combine(layout.LogsDirectory, name), FileOpenMode.Read);
                    }
                    catch (FileNotFoundException)
                    {
                        // Renamed or removed meanwhile: the identities below differ, so the session is opened again.
                        continue;
                    }

                    opened.Add(new OpenedLog(name, handle, 0, null));
                    (long end, StateDirectoryProblem? damaged) = CompleteFramesEnd(fileSystem, layout, envelope, name, handle, pause);
                    opened[^1] = opened[^1] with { End = end, DamagedLastAppend = damaged };
                }

                names = [.. fileSystem.ListFiles(layout.LogsDirectory).Where(n => Exported(n) && SessionOf(n) == group).Order(StringComparer.Ordinal)];
                if (opened.Count == before.Count && Identities(fileSystem, layout, names).SequenceEqual(before))
                {
                    return opened;
                }
            }
            catch
            {
                opened.ForEach(f => f.Handle.Dispose());
                throw;
            }

            opened.ForEach(f => f.Handle.Dispose());
        }

        throw new IOException($"The session log files of '{group}' in '{layout.LogsDirectory}' kept being rotated while they were copied ({ReadRetry.MaxAttempts} attempts over about 3 s); export again.");
    }

    private static List<(string Name, ulong? Device, ulong? Inode)> Identities(IFileSystem fileSystem, StateLayout layout, List<string> names) =>
        [.. names.Order(StringComparer.Ordinal).Select(name =>
        {
            FileIdentity? identity = fileSystem.IdentityOf(Path.Combine(layout.LogsDirectory, name));
            return (name, identity?.Device, identity?.Inode);
        })];

    private static bool Exported(string name) =>
        !StateLayout.IsTempFile(name) && !name.Contains(StateLayout.CorruptMarker, StringComparison.Ordinal)
        && !name.EndsWith(SessionLogs.FailedMarkerSuffix, StringComparison.Ordinal);

    /// <summary>A session's live log and parts share a group; any other file is its own.</summary>
    private static string SessionOf(string name) =>
        StateLayout.TryParseSessionLogName(name, out string id, out _) ? "session_" + id : name;

    /// <summary>
    /// How much of the file is copied. A log being appended to may end in a frame still being written: that append was
    /// not acknowledged yet, so the copy ends after the last valid frame (what a restart would keep). Plain logs from
    /// before framing, rotated parts and files that are no log are copied whole. A last append that is whole but fails
    /// its checksum may be an append in flight too (its text holding a frame trailer at just the length written so far),
    /// so the log is read again after the settle time (through the same handle: what is copied is what was judged);
    /// still there and still failing, it is damage: not copied either, and returned as the problem that names it.
    /// </summary>
    private static (long End, StateDirectoryProblem? DamagedLastAppend) CompleteFramesEnd(IFileSystem fileSystem, StateLayout layout, PayloadEnvelope envelope,
        string name, IFileHandle handle, Action<TimeSpan> pause)
    {
        long length = handle.Length;
        if (!name.StartsWith("session_", StringComparison.Ordinal) || !name.EndsWith(".log", StringComparison.Ordinal))
        {
            return (length, null);
        }

        Span<byte> header = stackalloc byte[SessionLogFormat.FileHeaderSize];
        if (length >= header.Length)
        {
            handle.Read(0, header);
        }

        string id = name["session_".Length..^".log".Length];
        string path = Path.Combine(layout.LogsDirectory, name);
        var logs = new SessionLogs(fileSystem, layout, envelope, TimeProvider.System, _ => { });
        LogScan scan = logs.Scan(id, path, handle, length);
        if (!SessionLogFormat.IsFramed(header) && scan.Frames == 0 && scan.Damage.Count == 0)
        {
            // Plain text from before framing: no file header and no valid frame anywhere.
            return (length, null);
        }

        StateDirectoryProblem? damaged = null;
        if (scan.DamagedLastAppend is not null)
        {
            // Read again through the handle, as far as the file reaches then (an append completed meanwhile is copied).
            LogScan? again = DamagedLastAppendJudgement.Settle(scan, () =>
            {
                length = handle.Length;
                return logs.Scan(id, path, handle, length);
            }, pause, out (long Offset, long Length)? stillDamaged);
            scan = again!; // a scan through the handle is never null
            if (stillDamaged is { } append)
            {
                damaged = new StateDirectoryProblem(path, id, DamagedLastAppendJudgement.Problem(append)
                    + "; it is not in the export (an import refuses a log holding it), and the next start of a server copies the log aside and cuts that append off");
            }
        }

        return (scan.Frames == 0 ? Math.Min(length, SessionLogFormat.FileHeaderSize) : scan.FramesEnd, damaged);
    }
}
