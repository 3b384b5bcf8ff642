using System.Formats.Tar;
using System.Security.Cryptography;
using StatePersistence.FileSystem;

namespace StatePersistence.FileStore.Operations.TaskArchive;

/// <summary>
/// Reads a task archive file whole, as a restore checks it (<see cref="TaskArchiveFile.Read"/>: a manifest first, then
/// exactly the entries it lists, each of its length and SHA-256, then the gzip trailer), but as a stream: one buffer
/// and one running hash at a time, never an entry or the file whole, so a listing that checks every archive of a
/// directory (<c>statectl archive list --verify</c>) needs no memory of their size. Reading only the manifest, as the
/// plain listing does, says nothing of the rest: an archive cut in its gzip trailer, or with a damaged entry, listed as
/// sound until a restore refused it.
/// </summary>
internal static class TaskArchiveWholeRead
{
    /// <summary>
    /// Null when the archive at <paramref name="path"/> reads back whole, else why not, in the words a restore uses.
    /// <paramref name="cancellationToken"/> is checked between two reads: a whole read of a large archive takes a while.
    /// </summary>
    public static string? Problem(IFileSystem fileSystem, string path, CancellationToken cancellationToken = default)
    {
        string at = TaskArchiveManifest.EntryName;
        try
        {
            using IFileHandle handle = fileSystem.Open(path, FileOpenMode.Read);
            using var file = new FileHandleRangeStream(handle, handle.Length);
            using var gzip = new CheckedGzipReader(file);
            using var tar = new TarReader(gzip);
            return EntriesProblem(tar, path, entry => at = entry, cancellationToken)
                ?? (gzip.TrailerProblem() is { } trailer ? $"The archive '{path}' is damaged: {trailer}." : null);
        }
        catch (UnauthorizedAccessException ex)
        {
            // Refused by the file system since its manifest was read (its permissions changed): not damage.
            return $"The archive '{path}' cannot be read: {ex.Message}";
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or FormatException or IOException)
        {
            return TaskArchiveFile.Damaged(path, at, $"cannot be read ({ex.Message}): the archive is truncated or corrupt", ex).Message;
        }
    }

    /// <summary>The first entry that breaks the rules of <see cref="TaskArchiveFile.Read"/>, or null when none does.</summary>
    private static string? EntriesProblem(TarReader tar, string path, Action<string> reached, CancellationToken cancellationToken)
    {
        TaskArchiveManifest? manifest = null;
        var listed = new Dictionary<string, ArchiveEntry>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (tar.GetNextEntry() is { } entry)
        {
            reached(entry.Name);
            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
            {
                return TaskArchiveFile.Damaged(path, entry.Name, $"is a {entry.EntryType}, not a plain file").Message;
            }

            if (manifest is null)
            {
                if (entry.Name != TaskArchiveManifest.EntryName)
                {
                    return TaskArchiveFile.Damaged(path, entry.Name, "comes first, where manifest.json must be").Message;
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
                    return ex.Message;
                }

                foreach (ArchiveEntry expected in manifest.Entries)
                {
                    listed[expected.Name] = expected;
                }
            }
            else if (!seen.Add(entry.Name))
            {
                return TaskArchiveFile.Damaged(path, entry.Name, "appears twice").Message;
            }
            else if (!listed.TryGetValue(entry.Name, out ArchiveEntry? expected))
            {
                return TaskArchiveFile.Damaged(path, entry.Name, "is not listed in the manifest").Message;
            }
            else if (Measure(entry.DataStream, cancellationToken) is var (length, sha256) && (length != expected.Length || sha256 != expected.Sha256))
            {
                return TaskArchiveFile.Damaged(path, entry.Name, $"does not match its length or SHA-256 in the manifest ({length} bytes)").Message;
            }
        }

        if (manifest is null)
        {
            return TaskArchiveFile.Damaged(path, TaskArchiveManifest.EntryName, "is missing").Message;
        }

        return manifest.Entries.FirstOrDefault(e => !seen.Contains(e.Name)) is { } missing
            ? TaskArchiveFile.Damaged(path, missing.Name, "is listed in the manifest but missing: the archive is truncated").Message
            : null;
    }

    /// <summary>An entry's length and SHA-256 (lower-case hex), read a buffer at a time.</summary>
    private static (long Length, string Sha256) Measure(Stream? data, CancellationToken cancellationToken)
    {
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[1 << 16];
        long length = 0;
        while (data is not null && data.Read(buffer) is > 0 and int read)
        {
            cancellationToken.ThrowIfCancellationRequested();
            sha256.AppendData(buffer, 0, read);
            length += read;
        }

        return (length, Convert.ToHexStringLower(sha256.GetHashAndReset()));
    }
}
