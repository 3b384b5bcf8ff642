using StatePersistence.FileStore.SessionLog;
using StatePersistence.FileSystem;
using StatePersistence.Recovery;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.FileStore.Operations;

/// <summary>
/// The session logs as copied into an export: each its file header and valid appends, up to the end of its last
/// complete frame, its rotated parts with it, streamed from the files into the archive (a log of gigabytes is copied in
/// the memory of its largest append). Damage (between valid appends, or anywhere in a rotated part) is left out, so the
/// export imports, and named. A last append of the live log that is whole but fails its checksum is judged as
/// <c>statectl verify</c> judges it (<see cref="DamagedLastAppendJudgement"/>): still there after the settle time, it is
/// left out and named.
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
    /// when null) for it to finish; so does the read again of a log whose last append looks damaged. Damage is not copied
    /// (an import refuses a log holding it): what of each file was left out, and why, is one problem in
    /// <paramref name="leftOut"/> (<see cref="CopiedRanges"/>). Returns how many files were added.
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
                foreach ((string name, IFileHandle handle, List<(long Offset, long Length)> copied, StateDirectoryProblem? problem) in opened)
                {
                    if (problem is not null)
                    {
                        leftOut.Add(problem);
                    }

                    // A healthy log is one range from its start, copied as it is; a damaged one its valid appends only.
                    using var content = new FileHandleRangeStream(handle, copied);
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

    /// <summary>A file of a session opened for the copy: the ranges of it copied, and the problem naming what was left out, if anything.</summary>
    private sealed record OpenedLog(string Name, IFileHandle Handle, List<(long Offset, long Length)> Copied, StateDirectoryProblem? LeftOut);

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

                    opened.Add(new OpenedLog(name, handle, [], null));
                    (List<(long Offset, long Length)> copied, StateDirectoryProblem? leftOut) = CopiedRanges(fileSystem, layout, envelope, name, handle, pause);
                    opened[^1] = opened[^1] with { Copied = copied, LeftOut = leftOut };
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
    /// What of the file is copied, as ranges of it, and the problem naming what was left out, if anything. A log being
    /// appended to may end in a frame still being written: that append was not acknowledged yet, so the copy ends after
    /// the last valid frame (what a restart would keep), without a word. Plain logs from before framing and files that
    /// are no log are copied whole. Otherwise the copy is the file header and the valid appends (frames whose checks
    /// hold and whose envelopes open, as <see cref="SessionLogs.Scan"/> judges them, a frame at a time): each frame is
    /// self-contained (its envelope is bound to its session, not to its place in the file), so they make a valid log one
    /// after the other, as the server's own repair of a damaged log writes it. A healthy log is one range, copied byte
    /// for byte. Damage between valid appends is left out (an import refuses a log holding it) and named. A last append
    /// of the live log that is whole but fails its checksum may be an append in flight (its text holding a frame trailer
    /// at just the length written so far), so the log is read again after the settle time (through the same handle:
    /// what is copied is what was judged); still there and still failing, it is damage: left out and named too. Nothing
    /// appends to a rotated part, so whatever follows its last valid append is damage (a part cut short), named.
    /// </summary>
    private static (List<(long Offset, long Length)> Copied, StateDirectoryProblem? LeftOut) CopiedRanges(IFileSystem fileSystem, StateLayout layout,
        PayloadEnvelope envelope, string name, IFileHandle handle, Action<TimeSpan> pause)
    {
        long length = handle.Length;
        if (!StateLayout.TryParseSessionLogName(name, out string id, out int part))
        {
            return ([(0, length)], null);
        }

        Span<byte> header = stackalloc byte[SessionLogFormat.FileHeaderSize];
        if (length >= header.Length)
        {
            handle.Read(0, header);
        }

        string path = Path.Combine(layout.LogsDirectory, name);
        var logs = new SessionLogs(fileSystem, layout, envelope, TimeProvider.System, _ => { });
        LogScan scan = logs.Scan(id, path, handle, length);
        if (!SessionLogFormat.IsFramed(header) && scan.Frames == 0 && scan.Damage.Count == 0)
        {
            // Plain text from before framing: no file header and no valid frame anywhere.
            return ([(0, length)], null);
        }

        (long Offset, long Length)? damagedLast = null;
        (long Offset, long Length)? brokenTail = null;
        if (part > 0)
        {
            // A rotated part: never appended to, so bytes after its last valid append or damage are damage too.
            damagedLast = scan.DamagedLastAppend;
            brokenTail = damagedLast is null ? scan.AfterTail : null;
        }
        else if (scan.DamagedLastAppend is not null)
        {
            // Read again through the handle, as far as the file reaches then (an append completed meanwhile is copied).
            scan = DamagedLastAppendJudgement.Settle(scan, () =>
            {
                length = handle.Length;
                return logs.Scan(id, path, handle, length);
            }, pause, out damagedLast)!; // a scan through the handle is never null
        }

        StateDirectoryProblem? leftOut = LeftOutProblem(path, id, part > 0, scan.Damage, damagedLast, brokenTail);
        if (scan.HeaderProblem is { } headerProblem)
        {
            // Copied as it is: the import takes it, and a server's read of the log (there or here) writes the header again.
            leftOut = new StateDirectoryProblem(path, id, headerProblem + "; copied as it is, and a server's read of the log repairs it"
                + (leftOut is null ? "" : "; " + leftOut.Problem));
        }

        return (ValidRanges(scan, length), leftOut);
    }

    /// <summary>
    /// The file header, then every valid frame: the bytes up to the end of the last one, less the damaged ranges, adjacent
    /// ranges joined (a healthy log is one range from 0).
    /// </summary>
    private static List<(long Offset, long Length)> ValidRanges(LogScan scan, long length)
    {
        if (scan.Frames == 0)
        {
            return [(0, Math.Min(length, SessionLogFormat.FileHeaderSize))];
        }

        var ranges = new List<(long Offset, long Length)>();
        long from = 0;
        foreach ((long offset, long size) in scan.Damage.Where(d => d.Offset < scan.FramesEnd))
        {
            if (offset > from)
            {
                ranges.Add((from, offset - from));
            }

            from = Math.Max(from, offset + size);
        }

        if (scan.FramesEnd > from)
        {
            ranges.Add((from, scan.FramesEnd - from));
        }

        return ranges;
    }

    /// <summary>
    /// The one problem naming what of a log was left out, or null: its damaged ranges, its damaged last append, the
    /// broken end of a rotated part. A damaged last append alone is named as before, in <see cref="DamagedLastAppendJudgement"/>'s words.
    /// </summary>
    private static StateDirectoryProblem? LeftOutProblem(string path, string id, bool isPart, List<(long Offset, long Length)> damage,
        (long Offset, long Length)? damagedLast, (long Offset, long Length)? brokenTail)
    {
        if (damage.Count == 0 && brokenTail is null && damagedLast is null)
        {
            return null;
        }

        if (!isPart && damage.Count == 0 && damagedLast is { } alone)
        {
            return new StateDirectoryProblem(path, id, DamagedLastAppendJudgement.Problem(alone)
                + "; it is not in the export (an import refuses a log holding it), and the next start of a server copies the log aside and cuts that append off");
        }

        var what = new List<string>();
        if (damage.Count > 0)
        {
            what.Add(string.Join(", ", damage.Select(d => ByteRangeText.Of(d.Offset, d.Length)))
                + " fail their checks (damaged appends between valid ones: a checksum that fails, or an envelope that does not open)");
        }

        if (damagedLast is { } last)
        {
            what.Add(DamagedLastAppendJudgement.Problem(last));
        }

        if (brokenTail is { } tail)
        {
            what.Add(ByteRangeText.Of(tail.Offset, tail.Length) + $" after the last valid append are not a whole append ({SessionLogs.BrokenPartEndCause})");
        }

        string server = isPart
            ? "a server's read of the log serves the part's valid appends, copying the part aside and dropping the damage"
                + (damagedLast is null && brokenTail is null ? "" : " (a server's start keeps the part's broken end aside and cuts it off first)")
            : damagedLast is null
                ? "a server's read of the log copies it aside and drops the damage"
                : "a server's start copies the log aside and cuts the last append off, and its read drops the rest of the damage";
        return new StateDirectoryProblem(path, id, string.Join("; ", what)
            + $"; not in the export, which holds the {(isPart ? "part's" : "log's")} valid appends only (an import refuses a log holding damage); {server}");
    }
}
