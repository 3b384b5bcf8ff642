using System.Text.Json;
using System.Text.Json.Serialization;
using StatePersistence.FileSystem;
using StatePersistence.Storage;

namespace StatePersistence.FileStore.Operations;

/// <summary>
/// <c>import-in-progress.json</c>: which archive an import is restoring (path, size, SHA-256) and since when. Its
/// presence is what tells a directory holding part of an archive from a state: the open refuses such a directory, and
/// only an import of the same archive (same bytes) may resume into it, since every file it left is one that import
/// writes again.
/// </summary>
internal sealed record ImportMarker(string Archive, long ArchiveBytes, string ArchiveSha256, DateTimeOffset StartedAt)
{
    /// <summary>
    /// The marker of an import of the archive found at <paramref name="archive"/>, naming the bytes its check read
    /// (<paramref name="checkedBytes"/>, digested as it read them): hashed in a pass of its own after the check (before
    /// 2026-12-07), the marker named whatever the file held by then, and a rewrite in place between the two was written
    /// unchecked.
    /// </summary>
    public static ImportMarker For(string archive, (long Bytes, string Sha256) checkedBytes, DateTimeOffset now) =>
        new(archive, checkedBytes.Bytes, checkedBytes.Sha256, now);

    /// <summary>Whether <paramref name="other"/> restores the same bytes (wherever the archive lies now).</summary>
    public bool SameArchive(ImportMarker other) => ArchiveBytes == other.ArchiveBytes && string.Equals(ArchiveSha256, other.ArchiveSha256, StringComparison.Ordinal);

    /// <summary>The marker of an unfinished import, null when there is none or it cannot be read (it is still there).</summary>
    public static ImportMarker? Read(IFileSystem fileSystem, StateLayout layout)
    {
        if (!fileSystem.FileExists(layout.ImportMarkerFile))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(fileSystem.ReadAllBytes(layout.ImportMarkerFile), ImportMarkerJsonContext.Default.ImportMarker);
        }
        catch (JsonException)
        {
            // Written atomically, so unreadable means damaged: the import is unfinished all the same.
            return null;
        }
    }

    /// <summary>Written durably (temp, fsync, rename, directory fsync) before the import's first file.</summary>
    public void Write(IFileSystem fileSystem, StateLayout layout) =>
        AtomicFile.Write(fileSystem, layout, layout.ImportMarkerFile, JsonSerializer.SerializeToUtf8Bytes(this, ImportMarkerJsonContext.Default.ImportMarker), Durability.Full);

    /// <summary>Removed, durably, once every file of the import is.</summary>
    public static void Remove(IFileSystem fileSystem, StateLayout layout)
    {
        fileSystem.Delete(layout.ImportMarkerFile);
        fileSystem.SyncDirectory(layout.Root);
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(ImportMarker))]
internal sealed partial class ImportMarkerJsonContext : JsonSerializerContext;
