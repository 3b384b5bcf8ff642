using System.Formats.Tar;
using System.Security.Cryptography;
using StatePersistence.FileSystem;

namespace StatePersistence.FileStore.Operations.TaskArchive;

/// <summary>
/// The one reader of a task archive whole, and its rules: a manifest first, naming only valid ids and listing the entry
/// of every task, log and report it names, then exactly the entries it lists, each of its length and SHA-256 (and in an
/// archive not sealed, each task entry a task holding its own id and each report entry a report: <see cref="TaskArchiveContent"/>), then the gzip
/// trailer. A restore reads through it keeping each entry (<see cref="TaskArchiveFile.Read"/>); a listing that checks
/// every archive of a directory (<c>statectl archive list --verify</c>, <c>statectl verify</c>) reads through it keeping
/// nothing but one task entry at a time, one buffer and one running hash at a time, so it needs no memory of the
/// archives' size. Reading only the manifest, as the plain listing
/// does, says nothing of the rest: an archive cut in its gzip trailer, or with a damaged entry, listed as sound until a
/// restore refused it. The rules were written out twice before 2026-12-07, once for each read, and free to drift.
/// </summary>
internal static class TaskArchiveWholeRead
{
    /// <summary>
    /// Null when the archive at <paramref name="path"/> reads back whole, else why not, in the words a restore uses.
    /// <paramref name="cancellationToken"/> is checked between two reads: a whole read of a large archive takes a while.
    /// </summary>
    public static string? Problem(IFileSystem fileSystem, string path, CancellationToken cancellationToken = default)
    {
        try
        {
            using IFileHandle handle = fileSystem.Open(path, FileOpenMode.Read);
            using var file = new FileHandleRangeStream(handle, handle.Length);
            Read(file, path, keep: null, cancellationToken);
            return null;
        }
        catch (UnauthorizedAccessException ex)
        {
            // Refused by the file system since its manifest was read (its permissions changed): not damage.
            return $"The archive '{path}' cannot be read: {ex.Message}";
        }
        catch (InvalidDataException ex)
        {
            return ex.Message;
        }
        catch (Exception ex) when (ex is EndOfStreamException or FormatException or IOException)
        {
            // The file would not open (gone since it was listed): nothing of it was reached.
            return TaskArchiveFile.Damaged(path, TaskArchiveManifest.EntryName, $"cannot be read ({ex.Message}): the archive is truncated or corrupt", ex).Message;
        }
    }

    /// <summary>
    /// Reads the gzip-compressed archive in <paramref name="compressed"/> (seekable, left open) whole and returns its
    /// manifest, putting each entry's content into <paramref name="keep"/> when one is given. Throws
    /// <see cref="InvalidDataException"/> naming <paramref name="path"/> and the entry at fault, or the trailer: the
    /// first fault in the order of the file.
    /// </summary>
    public static TaskArchiveManifest Read(Stream compressed, string path, Dictionary<string, byte[]>? keep, CancellationToken cancellationToken)
    {
        string at = TaskArchiveManifest.EntryName;
        (TaskArchiveManifest? Manifest, InvalidDataException? Problem) read;
        try
        {
            using var gzip = new CheckedGzipReader(compressed);
            using var tar = new TarReader(gzip);
            read = Entries(tar, path, keep, entry => at = entry, cancellationToken);
            if (read.Problem is null && gzip.TrailerProblem() is { } trailer)
            {
                read.Problem = new InvalidDataException($"The archive '{path}' is damaged: {trailer}.");
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or FormatException or IOException)
        {
            throw TaskArchiveFile.Damaged(path, at, $"cannot be read ({ex.Message}): the archive is truncated or corrupt", ex);
        }

        return read.Problem is null ? read.Manifest! : throw read.Problem;
    }

    /// <summary>
    /// The manifest, or the first entry that breaks the rules (as the problem, not thrown: what the tar and gzip readers
    /// throw is the caller's to name).
    /// </summary>
    private static (TaskArchiveManifest?, InvalidDataException?) Entries(TarReader tar, string path, Dictionary<string, byte[]>? keep,
        Action<string> reached, CancellationToken cancellationToken)
    {
        TaskArchiveManifest? manifest = null;
        var listed = new Dictionary<string, ArchiveEntry>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var judged = new Dictionary<string, (bool Report, string Id)>(StringComparer.Ordinal);
        while (tar.GetNextEntry() is { } entry)
        {
            reached(entry.Name);
            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
            {
                return (null, TaskArchiveFile.Damaged(path, entry.Name, $"is a {entry.EntryType}, not a plain file"));
            }

            if (manifest is null)
            {
                if (entry.Name != TaskArchiveManifest.EntryName)
                {
                    return (null, TaskArchiveFile.Damaged(path, entry.Name, "comes first, where manifest.json must be"));
                }

                using var json = new MemoryStream();
                entry.DataStream?.CopyTo(json);
                try
                {
                    manifest = TaskArchiveFile.ReadManifest(json.ToArray(), path);
                }
                catch (InvalidDataException ex)
                {
                    // Its JSON read whole but is no manifest of this build (does not parse, another format or version).
                    return (null, ex);
                }

                if (TaskArchiveContent.ManifestProblem(manifest, path) is { } named)
                {
                    return (null, named);
                }

                foreach (ArchiveEntry expected in manifest.Entries)
                {
                    listed[expected.Name] = expected;
                }

                // A sealed archive's task and report entries are judged as bytes: what they hold is known only where a key opens them.
                if (!manifest.Sealed)
                {
                    foreach (ArchivedTask task in manifest.Tasks)
                    {
                        judged[TaskArchiveManifest.TaskEntry(task.Id)] = (false, task.Id);
                        foreach (string reportId in task.Reports)
                        {
                            judged[TaskArchiveManifest.ReportEntry(reportId)] = (true, reportId);
                        }
                    }
                }
            }
            else if (!seen.Add(entry.Name))
            {
                return (null, TaskArchiveFile.Damaged(path, entry.Name, "appears twice"));
            }
            else if (!listed.TryGetValue(entry.Name, out ArchiveEntry? expected))
            {
                return (null, TaskArchiveFile.Damaged(path, entry.Name, "is not listed in the manifest"));
            }
            else if (Measure(entry.DataStream, keepContent: keep is not null || judged.ContainsKey(entry.Name), cancellationToken) is var (length, sha256, content)
                && (length != expected.Length || sha256 != expected.Sha256))
            {
                return (null, TaskArchiveFile.Damaged(path, entry.Name, $"does not match its length or SHA-256 in the manifest ({length} bytes)"));
            }
            else if (judged.TryGetValue(entry.Name, out (bool Report, string Id) item) && ContentProblem(path, item, content!) is { } wrong)
            {
                return (null, wrong);
            }
            else if (keep is not null)
            {
                keep[entry.Name] = content!;
            }
        }

        if (manifest is null)
        {
            return (null, TaskArchiveFile.Damaged(path, TaskArchiveManifest.EntryName, "is missing"));
        }

        return manifest.Entries.FirstOrDefault(e => !seen.Contains(e.Name)) is { } missing
            ? (null, TaskArchiveFile.Damaged(path, missing.Name, "is listed in the manifest but missing: the archive is truncated"))
            : (manifest, null);
    }

    /// <summary>
    /// Why the entry of a task is not that task (<see cref="TaskArchiveContent.Task"/>), or the entry of a report not a
    /// report (<see cref="TaskArchiveContent.ReportProblem"/>), or null.
    /// </summary>
    private static InvalidDataException? ContentProblem(string path, (bool Report, string Id) item, byte[] json)
    {
        if (item.Report)
        {
            return TaskArchiveContent.ReportProblem(path, item.Id, json);
        }

        try
        {
            TaskArchiveContent.Task(path, item.Id, json);
            return null;
        }
        catch (InvalidDataException ex)
        {
            return ex;
        }
    }

    /// <summary>
    /// An entry's length and SHA-256 (lower-case hex), read a buffer at a time, and with <paramref name="keepContent"/>
    /// its content.
    /// </summary>
    private static (long Length, string Sha256, byte[]? Content) Measure(Stream? data, bool keepContent, CancellationToken cancellationToken)
    {
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using MemoryStream? copy = keepContent ? new MemoryStream() : null;
        byte[] buffer = new byte[1 << 16];
        long length = 0;
        while (data is not null && data.Read(buffer) is > 0 and int read)
        {
            cancellationToken.ThrowIfCancellationRequested();
            sha256.AppendData(buffer, 0, read);
            copy?.Write(buffer, 0, read);
            length += read;
        }

        return (length, Convert.ToHexStringLower(sha256.GetHashAndReset()), copy?.ToArray());
    }
}
