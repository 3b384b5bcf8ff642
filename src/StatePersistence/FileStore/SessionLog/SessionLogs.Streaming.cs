using StatePersistence.FileStore.SessionLog;
using StatePersistence.FileSystem;
using StatePersistence.Storage;
using StatePersistence.Storage.SessionLogReading;

namespace StatePersistence.FileStore;

/// <summary>A session log opened to be sent in bounded memory (see <see cref="FramedLogReader"/>).</summary>
internal sealed partial class SessionLogs
{
    /// <summary>
    /// The log opened for reading, or null when the session has none. A file of the log that is not a clean framed log
    /// (damage between frames, a broken end, a damaged file header) is repaired as <see cref="Read"/> repairs it, which
    /// keeps the damage aside (or refuses a log the key ring cannot open), that file alone (<see cref="RepairUncleanFiles"/>);
    /// the log is then opened again to be streamed. One that still is not clean (a version 1 log, a torn file header) is
    /// read whole and served from what was read. Before 2026-12-07 one damaged byte anywhere read every part and the
    /// live log whole into memory, twice over, on one open (SessionLogStreamingTests).
    /// </summary>
    public ISessionLogReader? Open(string sessionId)
    {
        if (TryOpen(sessionId, out ISessionLogReader? reader))
        {
            return reader;
        }

        RepairUncleanFiles(sessionId);
        if (TryOpen(sessionId, out reader))
        {
            return reader;
        }

        byte[]? text = Read(sessionId);
        if (text is null)
        {
            return null;
        }

        return TryOpen(sessionId, out reader) ? reader : new BufferedLogReader(sessionId, text);
    }

    /// <summary>
    /// Under the log's gate (no rotation moves a file meanwhile): each of its files a scan does not find clean, and that
    /// holds frames, is repaired (<see cref="RepairHeld"/>, which reads that file whole). The clean ones are scanned a
    /// frame at a time and left as they are; a version 1 log or a torn file header is left to the whole read.
    /// </summary>
    private void RepairUncleanFiles(string sessionId)
    {
        KeyedGates.Lease gate = _gates.Take(sessionId);
        gate.Wait();
        try
        {
            string live = layout.SessionLogFile(sessionId);
            foreach (string path in RotatedParts(sessionId).OrderDescending().Select(part => layout.SessionLogPart(sessionId, part)).Append(live))
            {
                long limit = path == live && _failedAppendStarts.TryGetValue(sessionId, out long failedStart) ? failedStart : long.MaxValue;
                if (!IsCleanFramedFile(sessionId, path, limit) && HoldsFrames(path))
                {
                    RepairHeld(sessionId, path);
                }
            }
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Whether the file (up to <paramref name="limit"/>) is a clean framed log, or is not there: scanned a frame at a time.</summary>
    private bool IsCleanFramedFile(string sessionId, string path, long limit)
    {
        var files = new List<FramedLogReader.LogFile>();
        try
        {
            OpenFile(files, path, limit);
            return files.Count == 0 || FramedLogReader.TryScan(sessionId, files, envelope) is not null;
        }
        finally
        {
            files.ForEach(f => f.Handle.Dispose());
        }
    }

    /// <summary>
    /// Whether a file holds frames, as <see cref="TextOf"/> judges it: a file header, or valid frames after a damaged
    /// one (its bytes are read whole only when the header is not one).
    /// </summary>
    private bool HoldsFrames(string path)
    {
        using (IFileHandle handle = fileSystem.Open(path, FileOpenMode.Read))
        {
            Span<byte> header = stackalloc byte[SessionLogFormat.FileHeaderSize];
            if (handle.Read(0, header) == header.Length && SessionLogFormat.IsFramed(header))
            {
                return true;
            }
        }

        return SessionLogFormat.NextFrame(fileSystem.ReadAllBytes(path), 0) >= 0;
    }

    /// <summary>Opens and scans the log's files; false when one of them is not a clean framed log.</summary>
    private bool TryOpen(string sessionId, out ISessionLogReader? reader)
    {
        (List<FramedLogReader.LogFile> files, long openedAt) = OpenFiles(sessionId);
        reader = null;
        if (files.Count == 0)
        {
            return true;
        }

        FramedLogReader? scanned = null;
        try
        {
            scanned = FramedLogReader.TryScan(sessionId, files, envelope, _scans.Find(sessionId));
        }
        finally
        {
            if (scanned is null)
            {
                files.ForEach(f => f.Handle.Dispose());
            }
        }

        if (scanned is null)
        {
            return false;
        }

        _scans.Remember(sessionId, scanned.Mark!, openedAt);
        scanned.WhenChanged = () => _scans.Forget(sessionId);
        reader = scanned;
        return true;
    }

    /// <summary>
    /// The log's files opened under its gate (as <see cref="ReadFilesHeld"/> reads them), each with the end of what it
    /// held then: an append or a failed append's leftovers past that end are not read. With them, how many changes
    /// <see cref="LogScanMarks"/> had counted then.
    /// </summary>
    private (List<FramedLogReader.LogFile> Files, long OpenedAt) OpenFiles(string sessionId)
    {
        KeyedGates.Lease gate = _gates.Take(sessionId);
        gate.Wait();
        var files = new List<FramedLogReader.LogFile>();
        try
        {
            long openedAt = _scans.Changes;
            foreach (int part in RotatedParts(sessionId).OrderDescending())
            {
                OpenFile(files, layout.SessionLogPart(sessionId, part), long.MaxValue);
            }

            OpenFile(files, layout.SessionLogFile(sessionId), _failedAppendStarts.TryGetValue(sessionId, out long failedStart) ? failedStart : long.MaxValue);
            return (files, openedAt);
        }
        catch
        {
            files.ForEach(f => f.Handle.Dispose());
            throw;
        }
        finally
        {
            gate.Release();
        }
    }

    private void OpenFile(List<FramedLogReader.LogFile> files, string path, long limit)
    {
        if (!fileSystem.FileExists(path))
        {
            return;
        }

        IFileHandle handle = fileSystem.Open(path, FileOpenMode.Read);
        try
        {
            long end = Math.Min(handle.Length, limit);
            Span<byte> header = stackalloc byte[SessionLogFormat.FileHeaderSize];
            int read = end < header.Length ? 0 : handle.Read(0, header);
            ushort version = read == header.Length ? SessionLogFormat.HeaderVersion(header) : (ushort)0;
            files.Add(new FramedLogReader.LogFile(path, handle, end, version, fileSystem.IdentityOf(path)));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }
}
