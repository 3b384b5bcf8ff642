using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using StatePersistence.FileSystem;

namespace StatePersistence.FileStore.Operations.TaskArchive;

/// <summary>
/// A task archive's bytes: a gzip-compressed POSIX (pax) tar whose first entry is <c>manifest.json</c>
/// (<see cref="TaskArchiveManifest"/>), followed by <c>tasks/&lt;id&gt;.json</c>, <c>logs/session_&lt;id&gt;.log</c> and
/// <c>reports/report_&lt;id&gt;.json</c>; any <c>tar</c> lists and extracts it.
/// </summary>
internal static class TaskArchiveFile
{
    /// <summary>Writes the archive of <paramref name="entries"/> (manifest entries computed here) to <paramref name="output"/>.</summary>
    public static TaskArchiveManifest Write(Stream output, TaskArchiveManifest manifest, IReadOnlyList<(string Name, byte[] Content)> entries)
    {
        manifest = manifest with { Entries = [.. entries.Select(e => new ArchiveEntry(e.Name, e.Content.Length, Hash(e.Content)))] };
        using var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true);
        using var tar = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: true);
        Add(tar, TaskArchiveManifest.EntryName, JsonSerializer.SerializeToUtf8Bytes(manifest, TaskArchiveJsonContext.Default.TaskArchiveManifest), manifest.CreatedAt);
        foreach ((string name, byte[] content) in entries)
        {
            Add(tar, name, content, manifest.CreatedAt);
        }

        return manifest;
    }

    /// <summary>
    /// Why the archive at <paramref name="path"/>, read back from the disk, does not hold every entry of
    /// <paramref name="entries"/> byte for byte (with what made it unreadable), or null when it does: the check before
    /// an archive is trusted (tasks deleted, an older archive replaced).
    /// </summary>
    public static (string Problem, Exception? Cause)? ReadBackMismatch(IFileSystem fileSystem, string path, IReadOnlyList<(string Name, byte[] Content)> entries) =>
        ReadBackMismatch(fileSystem.ReadAllBytes(path), path, entries);

    /// <summary>The same check of an archive's bytes as read back from wherever the store keeps it (<paramref name="where"/>, for messages).</summary>
    public static (string Problem, Exception? Cause)? ReadBackMismatch(byte[] archive, string where, IReadOnlyList<(string Name, byte[] Content)> entries)
    {
        Dictionary<string, byte[]> read;
        try
        {
            read = Read(archive, where).Entries;
        }
        catch (InvalidDataException ex)
        {
            return (ex.Message, ex);
        }

        foreach ((string name, byte[] content) in entries)
        {
            if (!read.TryGetValue(name, out byte[]? stored) || !stored.AsSpan().SequenceEqual(content))
            {
                return ($"entry '{name}'", null);
            }
        }

        return null;
    }

    /// <summary>
    /// Reads and checks a whole archive by the rules of <see cref="TaskArchiveWholeRead"/> (a manifest first, then
    /// exactly the entries it lists, each of its length and hash, then the gzip trailer), keeping every entry. Throws
    /// <see cref="InvalidDataException"/> naming <paramref name="path"/> and the entry at fault. A file that is empty or
    /// not gzip at all is said to be so: blaming its manifest entry sent an operator who gave the wrong file looking for
    /// damage inside it.
    /// </summary>
    public static (TaskArchiveManifest Manifest, Dictionary<string, byte[]> Entries) Read(byte[] archive, string path)
    {
        if (archive is not [0x1f, 0x8b, ..])
        {
            string what = archive.Length == 0 ? "it is empty" : "it is not gzip-compressed";
            throw new InvalidDataException(
                $"The archive '{path}' cannot be read as a task archive: {what} (a task archive is a .tar.gz whose first entry is {TaskArchiveManifest.EntryName}, as 'statectl archive' writes it; this is another file, or one damaged from its first byte).");
        }

        var entries = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        using var compressed = new MemoryStream(archive, writable: false);
        TaskArchiveManifest manifest = TaskArchiveWholeRead.Read(compressed, path, entries, CancellationToken.None);
        return (manifest, entries);
    }

    /// <summary>
    /// The manifest alone (the first entry, so only the start of the file is decompressed), or null when the file does
    /// not begin with a readable one, <paramref name="problem"/> then saying why: enough to tell which tasks an archive
    /// holds before reading it whole.
    /// </summary>
    public static TaskArchiveManifest? TryReadManifest(IFileSystem fileSystem, string path, out string? problem)
    {
        try
        {
            using IFileHandle handle = fileSystem.Open(path, FileOpenMode.Read);
            return TryReadManifest(new FileHandleStream(handle), path, out problem);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Refused by the file system (permission denied): that archive's problem, not the end of a listing or a verify.
            problem = ex.Message;
            return null;
        }
    }

    /// <summary>The manifest alone of an archive's bytes (one that does not read back whole, say), as <see cref="TryReadManifest(IFileSystem, string, out string?)"/>.</summary>
    public static TaskArchiveManifest? TryReadManifest(byte[] archive, string path, out string? problem) =>
        TryReadManifest(new MemoryStream(archive, writable: false), path, out problem);

    private static TaskArchiveManifest? TryReadManifest(Stream compressed, string path, out string? problem)
    {
        problem = null;
        try
        {
            using var gzip = new GZipStream(compressed, CompressionMode.Decompress);
            using var tar = new TarReader(gzip);
            TarEntry? first = tar.GetNextEntry();
            if (first is not { Name: TaskArchiveManifest.EntryName, DataStream: { } data })
            {
                problem = first is null
                    ? "it holds no entry, where the manifest comes first"
                    : $"its first entry is '{first.Name}', not the manifest '{TaskArchiveManifest.EntryName}'";
                return null;
            }

            using var content = new MemoryStream();
            data.CopyTo(content);
            return ReadManifest(content.ToArray(), path);
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or FormatException or IOException)
        {
            problem = ex.Message;
            return null;
        }
    }

    /// <summary>The manifest entry's JSON as a task archive's manifest of this build's version, else <see cref="InvalidDataException"/> naming the archive.</summary>
    public static TaskArchiveManifest ReadManifest(byte[] json, string path)
    {
        TaskArchiveManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize(json, TaskArchiveJsonContext.Default.TaskArchiveManifest);
        }
        catch (JsonException ex)
        {
            throw Damaged(path, TaskArchiveManifest.EntryName, $"does not parse ({ex.Message})", ex);
        }

        if (manifest is not { Format: TaskArchiveManifest.FormatName, Tasks: not null, Entries: not null })
        {
            throw Damaged(path, TaskArchiveManifest.EntryName, $"is not a task archive's manifest (format '{TaskArchiveManifest.FormatName}')");
        }

        if (manifest.Version != TaskArchiveManifest.CurrentVersion)
        {
            throw Damaged(path, TaskArchiveManifest.EntryName, $"has version {manifest.Version}; this build reads version {TaskArchiveManifest.CurrentVersion}");
        }

        // Null where a task, an entry or one of their ids or lists belongs: no writer writes one, and every reader of a
        // manifest goes through them.
        if (manifest.Tasks.Any(t => t is not { Id: not null, SessionLogs: not null, Reports: not null } || t.SessionLogs.Any(id => id is null) || t.Reports.Any(id => id is null))
            || manifest.Entries.Any(e => e is not { Name: not null }))
        {
            throw Damaged(path, TaskArchiveManifest.EntryName,
                "is not a task archive's manifest (it holds null for a task or an entry, or for a task's id, a session log or report id or their lists, or an entry's name)");
        }

        // No writer lists an entry twice; judged by one listing, a read would pass what a read by the other refuses.
        var listed = new HashSet<string>(StringComparer.Ordinal);
        return manifest.Entries.FirstOrDefault(e => !listed.Add(e.Name)) is { } twice
            ? throw Damaged(path, TaskArchiveManifest.EntryName, $"lists the entry '{twice.Name}' twice")
            : manifest;
    }

    /// <summary>The damage of one entry, named with the archive: what a restore and a listing that reads archives whole say.</summary>
    public static InvalidDataException Damaged(string path, string entry, string problem, Exception? inner = null) =>
        new($"The archive '{path}' is damaged: its entry '{entry}' {problem}.", inner);

    private static string Hash(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));

    /// <summary>Adds an entry stamped with the archive's own time (from the store's clock), not the wall clock's.</summary>
    private static void Add(TarWriter tar, string name, byte[] content, DateTimeOffset time)
    {
        using var data = new MemoryStream(content, writable: false);
        tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name)
        {
            DataStream = data,
            Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            ModificationTime = time,
        });
    }
}
