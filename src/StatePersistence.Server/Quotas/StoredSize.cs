using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using StatePersistence.Server.Http;

namespace StatePersistence.Server.Quotas;

/// <summary>
/// The size of a value's JSON without keeping the JSON: the quota check measures every task a write would store, and
/// an array of it per write was a tenth of what a task PUT allocated. The bytes go to one scratch buffer per thread,
/// overwritten as they come; only their count is kept.
/// </summary>
internal static class StoredSize
{
    [ThreadStatic]
    private static Counter? t_counter;

    public static long Of<T>(T value, JsonTypeInfo<T> typeInfo)
    {
        Counter counter = t_counter ??= new Counter();
        counter.Reset();
        // The writer's options are those the serializer would give its own (SerializeToUtf8Bytes), so the count is
        // the length that call would return.
        using var writer = new Utf8JsonWriter(counter, SerializerWriterOptions.Of(typeInfo.Options));
        JsonSerializer.Serialize(writer, value, typeInfo);
        writer.Flush();
        return counter.Written;
    }

    /// <summary>Hands out the same scratch memory again and again, counting what is written to it.</summary>
    private sealed class Counter : IBufferWriter<byte>
    {
        private byte[] _scratch = new byte[4096];

        public long Written { get; private set; }

        public void Reset() => Written = 0;

        public void Advance(int count) => Written += count;

        public Memory<byte> GetMemory(int sizeHint = 0) => Scratch(sizeHint);

        public Span<byte> GetSpan(int sizeHint = 0) => Scratch(sizeHint);

        private byte[] Scratch(int sizeHint)
        {
            if (sizeHint > _scratch.Length)
            {
                _scratch = new byte[sizeHint];
            }

            return _scratch;
        }
    }
}
