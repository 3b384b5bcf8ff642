using StatePersistence.FileStore.SessionLog;
using StatePersistence.FileSystem;
using StatePersistence.Storage;

namespace StatePersistence.FileStore;

/// <summary>Damage found while reading a session log.</summary>
internal sealed partial class SessionLogs
{
    /// <summary>
    /// A log with damage between valid frames (flipped or overwritten bytes): it is copied aside as it is (the evidence),
    /// then replaced atomically by its valid frames, and the copy is reported (log line, metric, event). The valid
    /// appends are served; the damaged one is not. The same for a rotated part.
    /// </summary>
    private byte[] Repair(string sessionId, string path)
    {
        KeyedGates.Lease gate = _gates.Take(sessionId);
        gate.Wait();
        try
        {
            byte[] bytes = fileSystem.ReadAllBytes(path);
            (byte[] text, List<(long Offset, long Length)> damage, List<(long Offset, int Size)> frames) = Parse(sessionId, path, bytes);
            if (damage.Count == 0)
            {
                return text;
            }

            _scans.Forget(sessionId);
            string ranges = string.Join(", ", damage.Select(d => $"bytes {d.Offset}..{d.Offset + d.Length - 1}"));
            var copy = CopyAside(path, bytes, $"session log damaged: {ranges} fail their checksums (or their envelopes do not open) and were dropped");
            var repaired = new List<byte>(SessionLogFormat.FileHeader(IsEnveloped(bytes) ? SessionLogFormat.EnvelopedVersion : SessionLogFormat.PlainVersion));
            foreach ((long offset, int size) in frames)
            {
                repaired.AddRange(bytes.AsSpan((int)offset, size));
            }

            AtomicFile.Write(fileSystem, layout, path, repaired.ToArray(), Durability.Full);
            if (path == layout.SessionLogFile(sessionId) && _failedAppendStarts.ContainsKey(sessionId))
            {
                _failedAppendStarts[sessionId] = repaired.Count;
            }

            quarantined(copy);
            return text;
        }
        finally
        {
            gate.Release();
        }
    }
}
