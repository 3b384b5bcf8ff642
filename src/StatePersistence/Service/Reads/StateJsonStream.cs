using System.Buffers;
using System.Text.Json;
using StatePersistence.Commit;
using StatePersistence.FileStore.Snapshot;
using StatePersistence.Model;
using StatePersistence.Serialization;

namespace StatePersistence.Service.Reads;

/// <summary>
/// Writes one durable view as the JSON of <see cref="PersistedState"/> (the properties in the order its serializer
/// writes them), streamed: each task and session is copied from the exact bytes held in memory, and the text goes out
/// in chunks of about <see cref="ChunkBytes"/>. Materializing the state instead (<see cref="StateReader.LoadState"/>)
/// costs several times the state's size per call: at 100k tasks (a 497 MB <c>state.json</c>) one <c>GET /api/state</c>
/// took +1.7 GB of memory and four at once 12 GB. Streamed, a call holds one chunk (or the one item larger than it).
/// </summary>
internal static class StateJsonStream
{
    /// <summary>How much text is gathered before it is written to the destination.</summary>
    public const int ChunkBytes = 64 * 1024;

    public static async ValueTask WriteAsync(StateView view, DateTimeOffset? lastSaved, Stream destination, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(ChunkBytes * 2);
        await using var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true });
        writer.WriteStartObject();
        writer.WriteString("version", StateFormat.CurrentVersion);
        writer.WriteNumber("revision", view.Revision);
        await WriteItemsAsync(writer, buffer, "tasks", view.Tasks.Values, destination, cancellationToken).ConfigureAwait(false);
        await WriteItemsAsync(writer, buffer, "sessions", view.Sessions.Values, destination, cancellationToken).ConfigureAwait(false);
        writer.WritePropertyName("metrics");
        JsonSerializer.Serialize(writer, MetricsCalculator.Compute(view.Tasks.Values), StateJsonContext.Default.StateMetrics);
        if (lastSaved is { } saved)
        {
            writer.WritePropertyName("last_saved");
            IsoTimestamps.Write(writer, saved);
        }

        SnapshotWriter.WriteExtras(writer, view.Extras);
        writer.WriteEndObject();
        await SendAsync(writer, buffer, destination, cancellationToken).ConfigureAwait(false);
    }

    private static async ValueTask WriteItemsAsync(Utf8JsonWriter writer, ArrayBufferWriter<byte> buffer, string name,
        IEnumerable<StoredItem> items, Stream destination, CancellationToken cancellationToken)
    {
        writer.WriteStartArray(name);
        foreach (StoredItem item in items)
        {
            writer.WriteRawValue(item.Json, skipInputValidation: true);
            if (writer.BytesPending + buffer.WrittenCount >= ChunkBytes)
            {
                await SendAsync(writer, buffer, destination, cancellationToken).ConfigureAwait(false);
            }
        }

        writer.WriteEndArray();
    }

    private static async ValueTask SendAsync(Utf8JsonWriter writer, ArrayBufferWriter<byte> buffer, Stream destination, CancellationToken cancellationToken)
    {
        writer.Flush();
        await destination.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
        buffer.ResetWrittenCount();
    }
}
