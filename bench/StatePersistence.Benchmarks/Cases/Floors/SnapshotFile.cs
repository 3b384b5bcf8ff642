using System.Text.Json;
using StatePersistence.Benchmarks.Native;
using StatePersistence.Model;
using StatePersistence.Serialization;

namespace StatePersistence.Benchmarks.Cases.Floors;

/// <summary>Writes and reads a whole-state snapshot the way the floor cases measure it.</summary>
internal static class SnapshotFile
{
    private const int BufferBytes = 64 * 1024;

    /// <summary>
    /// Streams <paramref name="state"/> as JSON into <c>path.tmp</c>, fsyncs it, renames it over
    /// <paramref name="path"/> and fsyncs the directory. Returns the file's size.
    /// </summary>
    public static long WriteDurably(string path, PersistedState state)
    {
        string temp = path + ".tmp";
        long length;
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, BufferBytes))
        {
            JsonSerializer.Serialize(stream, state, StateJsonContext.Default.PersistedState);
            stream.Flush(flushToDisk: true);
            length = stream.Length;
        }

        File.Move(temp, path, overwrite: true);
        Posix.SyncDirectory(Path.GetDirectoryName(path)!);
        return length;
    }

    /// <summary>Streams the snapshot at <paramref name="path"/> back into objects.</summary>
    public static PersistedState Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferBytes,
            FileOptions.SequentialScan);
        return JsonSerializer.Deserialize(stream, StateJsonContext.Default.PersistedState)
            ?? throw new InvalidDataException($"'{path}' holds JSON null.");
    }
}
