using System.Collections.Concurrent;

namespace StatePersistence.InMemory;

/// <summary>
/// What an <see cref="InMemoryStateStore"/> "persists": encoded log records and blobs, as bytes. It outlives the
/// store, so a test can dispose the store and open a new one over the same storage to simulate a restart; the bytes
/// are real encodings (through the codec), so a restart really decodes what was written.
/// </summary>
public sealed class InMemoryStorage
{
    internal object Gate { get; } = new();

    internal List<byte[]> Log { get; } = [];

    internal ConcurrentDictionary<string, InMemorySessionLog> SessionLogs { get; } = new(StringComparer.Ordinal);

    internal ConcurrentDictionary<string, byte[]> Reports { get; } = new(StringComparer.Ordinal);

    internal bool Open { get; set; }

    /// <summary>Every stored byte array (log records, log segments, reports), for tests that inspect what is stored.</summary>
    public IReadOnlyList<byte[]> AllBytes()
    {
        lock (Gate)
        {
            return [.. Log, .. SessionLogs.Values.SelectMany(s => { lock (s) { return s.Appends.ToList(); } }), .. Reports.Values];
        }
    }

    /// <summary>Appends a raw log record as if a writer had stored it, for tests of what a store refuses to read.</summary>
    internal void AppendRawRecord(byte[] record)
    {
        ArgumentNullException.ThrowIfNull(record);
        lock (Gate)
        {
            Log.Add(record);
        }
    }
}
