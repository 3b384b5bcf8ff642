using StatePersistence.Errors;
using StatePersistence.FileStore.Journal;
using StatePersistence.FileStore.Snapshot;
using StatePersistence.FileSystem;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.FileStore.Operations;

/// <summary>
/// What <see cref="StateDirectoryVerifier"/> checks file by file when the state cannot be read as a whole (the read
/// stopped at a file of a newer format, or could not get a consistent view): <c>state.json</c>, each journal segment
/// and each item file on its own, so that a problem elsewhere is still listed. Backups, logs and reports are always
/// checked one by one. Read-only, like the verifier.
/// </summary>
internal static class FileByFileChecks
{
    /// <summary><c>state.json</c> alone: corrupt, or of a newer format (unless the read already stopped at it).</summary>
    public static void StateFile(IFileSystem fileSystem, StateLayout layout, PayloadEnvelope envelope, string stoppedAt, List<StateDirectoryProblem> problems)
    {
        string path = layout.StateFile;
        if (path == stoppedAt || ReadOrNull(fileSystem, path, problems) is not { } stored)
        {
            return;
        }

        try
        {
            SnapshotReader.Read(envelope.Open(PayloadKind.Snapshot, FileRecovery.SnapshotId, stored, path), path);
        }
        catch (StateFormatException ex)
        {
            problems.Add(new StateDirectoryProblem(path, null, ex.Message));
        }
        catch (Exception ex) when (ex is InvalidDataException or System.Security.Cryptography.CryptographicException)
        {
            problems.Add(new StateDirectoryProblem(path, null, $"the file is corrupt ({ex.Message}); start-up recovery moves it aside and falls back"));
        }
    }

    /// <summary>
    /// Each journal segment alone: a format version this build does not read, and damaged ranges (a bad header, bytes
    /// between valid records that fail their checks). What needs the segments together (gaps, a started segment
    /// zeroed whole) is left to the whole read.
    /// </summary>
    public static void JournalSegments(IFileSystem fileSystem, StateLayout layout, string stoppedAt, List<StateDirectoryProblem> problems)
    {
        foreach (string name in fileSystem.ListFiles(layout.JournalDirectory))
        {
            string path = Path.Combine(layout.JournalDirectory, name);
            if (path == stoppedAt || !JournalReader.TryParseSegmentNumber(name, out long number) || ReadOrNull(fileSystem, path, problems) is not { } bytes)
            {
                continue;
            }

            var segment = JournalSegment.Read(path, number, bytes);
            if (segment.Header.Kind == SegmentHeaderKind.UnknownVersion)
            {
                problems.Add(new StateDirectoryProblem(path, null, $"the journal segment has format version {segment.Header.Version}, which this build does not read (it reads {JournalFormat.FormatVersion} and {JournalFormat.LegacyFormatVersion}); start-up stops at it"));
                continue;
            }

            foreach (Recovery.DroppedByteRange range in segment.Dropped.Where(d => d.Damage))
            {
                problems.Add(new StateDirectoryProblem(path, null, $"{Recovery.ByteRangeText.Of(range.Offset, range.Length)} are damaged ({range.Reason})"));
            }
        }
    }

    /// <summary>Each task or session file alone: it parses, and the id inside is its name's.</summary>
    public static void ItemFiles(IFileSystem fileSystem, PayloadEnvelope envelope, PayloadKind kind, string directory, List<StateDirectoryProblem> problems)
    {
        foreach (string name in fileSystem.ListFiles(directory))
        {
            if (StateLayout.ItemId(name) is { } id && ItemFileAgreement.ReadItem(fileSystem, envelope, kind, Path.Combine(directory, name), id, out string? problem) is null
                && problem is not null)
            {
                problems.Add(new StateDirectoryProblem(Path.Combine(directory, name), id, problem));
            }
        }
    }

    /// <summary>
    /// The file's bytes, or null when a running server removed it since the listing (or it never was), or when the file
    /// system refuses to read it, which is listed.
    /// </summary>
    private static byte[]? ReadOrNull(IFileSystem fileSystem, string path, List<StateDirectoryProblem> problems)
    {
        try
        {
            return fileSystem.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception ex) when (UnreadableFile.IsRefusal(ex))
        {
            problems.Add(new StateDirectoryProblem(path, null, UnreadableFile.Problem(path, ex)));
            return null;
        }
    }
}
