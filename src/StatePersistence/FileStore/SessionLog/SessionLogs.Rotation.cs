using StatePersistence.FileStore.SessionLog;
using StatePersistence.FileSystem;
using StatePersistence.Retention;
using StatePersistence.Storage;

namespace StatePersistence.FileStore;

/// <summary>The retention policy's size cap on a session log: rotation into parts, or dropping the oldest appends.</summary>
internal sealed partial class SessionLogs
{
    /// <summary>
    /// When the live log is larger than <paramref name="maxBytes"/>: with <paramref name="rotatedParts"/> &gt; 0 it is
    /// rotated (<see cref="Rotate"/>), with 0 it is rewritten with its newest appends (<see cref="DropOldest"/>). Under
    /// the log's gate, so no append or read interleaves. A log with a failed append pending is left for start-up's
    /// repair. Null when nothing was done.
    /// </summary>
    public async ValueTask<SessionLogTrim?> CapAsync(string sessionId, long maxBytes, int rotatedParts, Durability durability, CancellationToken cancellationToken)
    {
        KeyedGates.Lease gate = _gates.Take(sessionId);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            string path = layout.SessionLogFile(sessionId);
            if (_failedAppendStarts.ContainsKey(sessionId) || !fileSystem.FileExists(path) || fileSystem.LengthOf(path) <= maxBytes)
            {
                return null;
            }

            _scans.Forget(sessionId);
            return rotatedParts > 0 ? Rotate(sessionId, path, rotatedParts, durability) : DropOldest(sessionId, path, maxBytes, durability);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// <c>.log.(N-1)</c> → <c>.log.N</c> (replacing the oldest part, which the policy drops), …, <c>.log</c> →
    /// <c>.log.1</c>; the next append starts a fresh log. Each rename is made durable (directory fsync) before the
    /// next: a later rename that reached the disk while an earlier one did not would replace a part whose text had not
    /// moved on yet, losing appends the policy keeps. A crash between renames leaves a gap in the numbers, which reads
    /// skip and the next rotation closes. Parts numbered above N (a policy lowered since) are dropped too.
    /// </summary>
    private SessionLogTrim Rotate(string sessionId, string path, int rotatedParts, Durability durability)
    {
        // Before the first rename: a rotation that fails half-way has made parts too, and may have moved the live log
        // away. The next append creates it again: it gets a file header, and its name is made durable then (forgotten
        // before, not after: see ForgetNameDurable).
        NoteParts(sessionId, may: true);
        ForgetNameDurable(sessionId);
        _versions.TryRemove(sessionId, out _);
        try
        {
            List<int> parts = RotatedParts(sessionId);
            long freed = 0;
            foreach (int part in parts.Where(p => p > rotatedParts))
            {
                string partPath = layout.SessionLogPart(sessionId, part);
                freed += fileSystem.LengthOf(partPath);
                fileSystem.Delete(partPath);
            }

            // Part N is replaced by the part below it (by the live log when N is 1); after a crash left a gap there, it stays.
            if (parts.Contains(rotatedParts) && (rotatedParts == 1 || parts.Contains(rotatedParts - 1)))
            {
                freed += fileSystem.LengthOf(layout.SessionLogPart(sessionId, rotatedParts));
            }

            // Every acknowledged append is already fsynced (under Full each append is before it returns): renames only.
            long rotated = fileSystem.LengthOf(path);
            foreach (int part in parts.Where(p => p < rotatedParts).OrderDescending())
            {
                fileSystem.Rename(layout.SessionLogPart(sessionId, part), layout.SessionLogPart(sessionId, part + 1));
                SyncRotation(durability);
            }

            fileSystem.Rename(path, layout.SessionLogPart(sessionId, 1));
            SyncRotation(durability);
            return new SessionLogTrim(sessionId, rotated, freed, Rotated: true);
        }
        finally
        {
            // After the renames, those of a rotation that failed half-way too: parts may have moved since a listing.
            _lastRotation[sessionId] = Interlocked.Increment(ref _rotations);
        }
    }

    private void SyncRotation(Durability durability)
    {
        if (durability == Durability.Full)
        {
            fileSystem.SyncDirectory(layout.LogsDirectory);
        }
    }

    /// <summary>
    /// No parts kept: the log is replaced atomically (temp file, fsync, rename, directory fsync) by its newest whole
    /// appends that fit in half the cap, their frames copied as stored (sealed frames stay sealed), so the rewrite
    /// happens at most once per half a cap of appends. A log with damage (between appends, or a broken end) is repaired
    /// first, as a read repairs it (<see cref="RepairHeld"/>): copying its valid frames alone dropped a broken end unseen.
    /// </summary>
    private SessionLogTrim? DropOldest(string sessionId, string path, long maxBytes, Durability durability)
    {
        byte[] bytes = fileSystem.ReadAllBytes(path);
        if (!SessionLogFormat.IsFramed(bytes))
        {
            return null;
        }

        (_, List<(long Offset, long Length)> damage, List<(long Offset, int Size)> frames, string? headerProblem) = Parse(sessionId, path, bytes);
        if (damage.Count > 0 || headerProblem is not null || BrokenEnd(sessionId, path, bytes.Length, damage, frames) is not null)
        {
            // Repaired as a read repairs it (copied aside, reported), then cut: left as it was, a log nobody read grew
            // past its cap on every pass.
            RepairHeld(sessionId, path);
            bytes = fileSystem.ReadAllBytes(path);
            if (bytes.Length <= maxBytes)
            {
                return null;
            }

            (_, _, frames, _) = Parse(sessionId, path, bytes);
        }

        long budget = maxBytes / 2;
        long kept = SessionLogFormat.FileHeaderSize;
        int first = frames.Count;
        while (first > 0 && kept + frames[first - 1].Size <= budget)
        {
            first--;
            kept += frames[first].Size;
        }

        byte[] trimmed = new byte[kept];
        bytes.AsSpan(0, SessionLogFormat.FileHeaderSize).CopyTo(trimmed);
        int at = SessionLogFormat.FileHeaderSize;
        for (int i = first; i < frames.Count; i++)
        {
            bytes.AsSpan((int)frames[i].Offset, frames[i].Size).CopyTo(trimmed.AsSpan(at));
            at += frames[i].Size;
        }

        // The log is replaced by a rename: its name is known durable again once the directory fsync after it succeeded.
        ForgetNameDurable(sessionId);
        AtomicFile.Write(fileSystem, layout, path, trimmed, durability);
        if (durability == Durability.Full)
        {
            _namesMadeDurable[sessionId] = true;
        }

        return new SessionLogTrim(sessionId, bytes.Length, bytes.Length - trimmed.Length, Rotated: false);
    }
}
