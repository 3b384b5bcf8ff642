using StatePersistence.FileSystem;

namespace StatePersistence.FileStore.SessionLog;

/// <summary>
/// Where a scan of a log's files (<see cref="FramedLogReader.TryScan"/>) ended: each file as it was scanned (its path,
/// which file it was, its header version and the end verified), the text counted, the checkpoints, and the last
/// frame's header. A log only grows between the store's rewrites of it, which forget its mark
/// (<see cref="LogScanMarks"/>), so the next open verifies only what was appended since: a client tailing a log of
/// gigabytes (the dashboard asks after every append) reads the new appends, not the whole log again each time.
/// </summary>
internal sealed record LogScanMark(
    LogScanMark.ScannedFile[] Files,
    long Text,
    long NextCheckpoint,
    long[] CheckpointText,
    (int File, long Offset)[] CheckpointAt,
    (int File, long Offset, int Length, uint Checksum)? LastFrame)
{
    /// <summary>One file as the scan saw it: its path, which file it was, its header's version and the end verified.</summary>
    internal readonly record struct ScannedFile(string Path, FileIdentity? Identity, ushort Version, long End);

    /// <summary>The end verified of the last file (the live log), where the next scan resumes.</summary>
    public long LiveEnd => Files[^1].End;

    /// <summary>
    /// Whether <paramref name="files"/> are the files this mark describes, grown at most at the end: the same files
    /// (device and inode) at the same paths in the same order with the same header versions, every file but the live
    /// log (the last) ending where it did, the live log ending there or later. A file system that does not tell which
    /// file a path is (a test's fake) never fits: every open then scans the whole log.
    /// </summary>
    public bool Fits(IReadOnlyList<FramedLogReader.LogFile> files)
    {
        if (files.Count != Files.Length)
        {
            return false;
        }

        for (int i = 0; i < files.Count; i++)
        {
            FramedLogReader.LogFile file = files[i];
            ScannedFile then = Files[i];
            bool ends = i < files.Count - 1 ? file.End == then.End : file.End >= then.End;
            if (!ends || file.Version != then.Version || !string.Equals(file.Path, then.Path, StringComparison.Ordinal)
                || file.Identity is not { } identity || then.Identity is not { } scanned || !identity.IsSameFile(scanned))
            {
                return false;
            }
        }

        return true;
    }
}
