using StatePersistence.FileStore.SessionLog;

namespace StatePersistence.FileStore;

/// <summary>Removing a whole log (the task archive moves it into an archive file first).</summary>
internal sealed partial class SessionLogs
{
    /// <summary>
    /// Deletes <c>logs/session_&lt;id&gt;.log</c>, its rotated parts and its failed-append marker, then fsyncs the directory, under the
    /// log's gate so no append interleaves. What this process remembers about the log goes too: a later append starts
    /// a new log with its own file header, and makes that name durable again. The parts go oldest first, each deletion
    /// made durable before the next, so what a crash midway leaves is the log's newest text, never text with a gap in
    /// it (a read skips a missing part number); deleting again finishes it.
    /// </summary>
    public async ValueTask RemoveAsync(string sessionId, CancellationToken cancellationToken)
    {
        KeyedGates.Lease gate = _gates.Take(sessionId);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            RemoveHeld(sessionId);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// <see cref="RemoveAsync"/> only when the log's text (what <see cref="Read"/> returns) is <paramref name="text"/>,
    /// read and compared under the same hold of the log's gate as the deletion, which every append takes: an append
    /// acknowledged before the comparison makes it differ, and one after it starts a new log. True when the log is gone
    /// (removed, or there was none); false, changing nothing, when its text is any other.
    /// </summary>
    public async ValueTask<bool> RemoveIfTextAsync(string sessionId, ReadOnlyMemory<byte> text, CancellationToken cancellationToken)
    {
        KeyedGates.Lease gate = _gates.Take(sessionId);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (ReadHeld(sessionId) is not { } live)
            {
                return true;
            }

            if (!live.AsSpan().SequenceEqual(text.Span))
            {
                return false;
            }

            RemoveHeld(sessionId);
            return true;
        }
        finally
        {
            gate.Release();
        }
    }

    private void RemoveHeld(string sessionId)
    {
        _scans.Forget(sessionId);

        // Forgotten before the first deletion (see ForgetNameDurable): when a directory fsync below fails, the next
        // append still starts a new log with its own file header and makes its name durable.
        ForgetNameDurable(sessionId);
        _versions.TryRemove(sessionId, out _);

        // Its rotated parts go with it (the archive took the whole text, parts included); the highest number is the oldest.
        foreach (int part in RotatedParts(sessionId).OrderDescending())
        {
            fileSystem.Delete(layout.SessionLogPart(sessionId, part));
            fileSystem.SyncDirectory(layout.LogsDirectory);
        }

        string path = layout.SessionLogFile(sessionId);
        fileSystem.Delete(path);
        if (_failedAppendStarts.ContainsKey(sessionId))
        {
            // The failed append's offset belonged to the file just deleted. Should the marker's deletion below fail, the
            // next append starts the new log at 0 and removes the marker before it is acknowledged (as after any failed
            // append), where before 2026-12-07 it wrote its frame at the old offset, behind zeros and with no file
            // header, into the new file (FailedLogDirectorySyncTests).
            _failedAppendStarts[sessionId] = 0;
        }

        fileSystem.Delete(path + FailedMarkerSuffix);
        fileSystem.SyncDirectory(layout.LogsDirectory);
        NoteParts(sessionId, may: false);
        _failedAppendStarts.TryRemove(sessionId, out _);
        _lastRotation.TryRemove(sessionId, out _);
    }
}
