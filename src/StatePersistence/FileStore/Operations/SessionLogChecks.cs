using StatePersistence.Errors;
using StatePersistence.FileSystem;
using StatePersistence.Ids;
using StatePersistence.Recovery;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.FileStore.Operations;

/// <summary>
/// What <see cref="StateDirectoryVerifier"/> checks in <c>logs/</c>: every session log and rotated part, read a frame
/// at a time (<see cref="SessionLogs.ScanFile"/>), so a log of gigabytes is checked in the memory of its largest
/// append. Read-only, like the verifier.
/// </summary>
internal static class SessionLogChecks
{
    /// <summary>Checks every log; returns how many there are. Each one that cannot be read is listed, and the rest checked.</summary>
    public static int CheckAll(IFileSystem fileSystem, StateLayout layout, PayloadEnvelope envelope, List<StateDirectoryProblem> problems)
    {
        var logs = new SessionLogs(fileSystem, layout, envelope, TimeProvider.System, _ => { });
        int count = 0;
        foreach (string name in fileSystem.ListFiles(layout.LogsDirectory))
        {
            string path = Path.Combine(layout.LogsDirectory, name);
            if (StateDirectoryVerifier.Skipped(name) || name.EndsWith(SessionLogs.FailedMarkerSuffix, StringComparison.Ordinal))
            {
                continue;
            }

            // A rotated part (session_<id>.log.<n>) is checked too: a read serves it with the live log.
            if (!StateLayout.TryParseSessionLogName(name, out string id, out int part) || !StateId.IsValid(id))
            {
                problems.Add(new StateDirectoryProblem(path, null, "not a session log (expected 'session_<id>.log', or a rotated part 'session_<id>.log.<n>'); the store ignores it"));
                continue;
            }

            count++;
            try
            {
                if (part > 0)
                {
                    CheckPart(logs, id, path, problems);
                }
                else
                {
                    CheckOne(logs, id, path, problems);
                }
            }
            catch (StateFormatException ex)
            {
                // Sealed under a key the ring does not hold (or other key material): not damage, but unreadable here.
                problems.Add(new StateDirectoryProblem(path, id, ex.Message));
            }
            catch (Exception ex) when (UnreadableFile.IsRefusal(ex))
            {
                problems.Add(new StateDirectoryProblem(path, id, UnreadableFile.Problem(path, ex)));
            }
        }

        return count;
    }

    /// <summary>
    /// Lists what start-up or a read of the log acts on: damage between valid appends (a read copies the log aside and
    /// drops it), a damaged file header (<see cref="SessionLog.FileHeaderCheck"/>: a read writes it again), and a last
    /// append that is whole but fails its checksum (start-up copies the log aside and cuts it; a read skips it). A last
    /// append that is not whole is a torn tail, not listed: beside a running server it is an append in flight, and
    /// otherwise it cannot be told from the unacknowledged tail of a power cut (start-up keeps it aside and names it in
    /// recovery-report.json). Plain text from before framing has nothing to check.
    /// </summary>
    private static void CheckOne(SessionLogs logs, string id, string path, List<StateDirectoryProblem> problems)
    {
        // A suspect last append may be one in flight: judged again on a later read (DamagedLastAppendJudgement).
        if (logs.ScanFile(id, path) is not { } first
            || DamagedLastAppendJudgement.Settle(first, () => logs.ScanFile(id, path), Thread.Sleep, out (long Offset, long Length)? stillDamaged) is not { } scan)
        {
            return;
        }

        if (stillDamaged is { } damaged)
        {
            problems.Add(new StateDirectoryProblem(path, id, DamagedLastAppendJudgement.Problem(damaged) + "; the next start copies the log aside and cuts that append off"));
        }

        AddDamage(scan, id, path, problems);
    }

    /// <summary>
    /// A rotated part: its damage between valid appends as <see cref="CheckOne"/> lists the live log's, and whatever
    /// follows its last valid append, whole or not. Nothing appends to a part, so that is damage (a part cut short, or
    /// its last append damaged), listed at once with no second read: the next start keeps it aside and cuts it off, and a
    /// read before then copies the part aside and drops it.
    /// </summary>
    private static void CheckPart(SessionLogs logs, string id, string path, List<StateDirectoryProblem> problems)
    {
        if (logs.ScanFile(id, path) is not { } scan)
        {
            return;
        }

        AddDamage(scan, id, path, problems);
        if (scan.AfterTail is { } end)
        {
            problems.Add(new StateDirectoryProblem(path, id, $"{ByteRangeText.Of(end.Offset, end.Length)} after the last valid append of the rotated part are not a whole append ({SessionLogs.BrokenPartEndCause}); the next start keeps them aside and cuts them off, and a read before then copies the part aside and drops them"));
        }
    }

    private static void AddDamage(LogScan scan, string id, string path, List<StateDirectoryProblem> problems)
    {
        if (scan.HeaderProblem is { } header)
        {
            problems.Add(new StateDirectoryProblem(path, id, header + "; reading the log repairs it, keeping a copy aside"));
        }

        foreach ((long offset, long length) in scan.Damage)
        {
            problems.Add(new StateDirectoryProblem(path, id, $"bytes {offset}..{offset + length - 1} of the log are damaged (they fail their checksum); reading the log repairs it by moving the damage aside"));
        }
    }
}
