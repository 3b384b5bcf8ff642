using StatePersistence.FileStore.SessionLog;
using StatePersistence.FileSystem;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.FileStore.Operations;

/// <summary>A session log as copied into an export: up to the end of its last complete frame.</summary>
internal static class SessionLogExport
{
    /// <summary>
    /// A log being appended to may end in a frame still being written: that append was not acknowledged yet, so the
    /// copy ends after the last valid frame (what a restart would keep). Plain logs from before framing are copied whole.
    /// </summary>
    public static byte[] CompleteFrames(IFileSystem fileSystem, StateLayout layout, PayloadEnvelope envelope, string name, byte[] content)
    {
        if (!name.StartsWith("session_", StringComparison.Ordinal) || !name.EndsWith(".log", StringComparison.Ordinal)
            || (!SessionLogFormat.IsFramed(content) && SessionLogFormat.NextFrame(content, 0) < 0))
        {
            return content;
        }

        string id = name["session_".Length..^".log".Length];
        var logs = new SessionLogs(fileSystem, layout, envelope, TimeProvider.System, _ => { });
        List<(long Offset, int Size)> frames = logs.Parse(id, Path.Combine(layout.LogsDirectory, name), content).Frames;
        long end = frames.Count == 0 ? Math.Min(content.Length, SessionLogFormat.FileHeaderSize) : frames[^1].Offset + frames[^1].Size;
        return content[..(int)end];
    }
}
