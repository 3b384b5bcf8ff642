using StatePersistence.FileStore.SessionLog;
using StatePersistence.FileSystem;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.FileStore.Operations;

/// <summary>A session log as copied into an export: up to the end of its last complete frame, its rotated parts with it.</summary>
internal static class SessionLogExport
{
    /// <summary>How often a session's files are read again when a rotation moved them meanwhile, before the export gives up.</summary>
    private const int Attempts = 5;

    /// <summary>
    /// Every file of <c>logs/</c> an export holds (not temp, quarantined or marker files), sorted by name, each log cut
    /// after its last complete frame. A session's live log and rotated parts are read as one: when a rotation of a running
    /// server renamed any of them meanwhile (a name now holds another file), they are read again, so the copy never
    /// holds a part twice or misses one.
    /// </summary>
    public static List<(string Name, byte[] Content)> ReadAll(IFileSystem fileSystem, StateLayout layout, PayloadEnvelope envelope)
    {
        var files = new List<(string Name, byte[] Content)>();
        foreach (IGrouping<string, string> group in fileSystem.ListFiles(layout.LogsDirectory).Where(Exported).GroupBy(SessionOf, StringComparer.Ordinal))
        {
            files.AddRange(ReadTogether(fileSystem, layout, envelope, group.Key, [.. group]));
        }

        files.Sort((a, b) => StringComparer.Ordinal.Compare(a.Name, b.Name));
        return files;
    }

    private static List<(string Name, byte[] Content)> ReadTogether(IFileSystem fileSystem, StateLayout layout, PayloadEnvelope envelope, string group, List<string> names)
    {
        for (int attempt = 0; attempt < Attempts; attempt++)
        {
            List<(string Name, ulong? Device, ulong? Inode)> before = Identities(fileSystem, layout, names);
            var read = new List<(string Name, byte[] Content)>();
            foreach (string name in names)
            {
                try
                {
                    read.Add((name, CompleteFrames(fileSystem, layout, envelope, name, fileSystem.ReadAllBytes(Path.Combine(layout.LogsDirectory, name)))));
                }
                catch (FileNotFoundException)
                {
                    // Renamed or removed meanwhile: the identities below differ, so the session is read again.
                }
            }

            names = [.. fileSystem.ListFiles(layout.LogsDirectory).Where(n => Exported(n) && SessionOf(n) == group)];
            if (read.Count == before.Count && Identities(fileSystem, layout, names).SequenceEqual(before))
            {
                return read;
            }
        }

        throw new IOException($"The session log files of '{group}' in '{layout.LogsDirectory}' kept being rotated while they were copied; export again.");
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
