using System.Text.Json;
using System.Text.Json.Nodes;
using StatePersistence.Model;
using StatePersistence.Serialization;
using StatePersistence.Service.Reads;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>
/// <see cref="IStatePersistence.WriteStateAsync"/>: the state as <see cref="IStatePersistence.LoadStateAsync"/> gives
/// it, written a chunk at a time rather than built whole (the scale audit: a materialized <c>GET /api/state</c> of
/// 100k tasks took +1.7 GB per request).
/// </summary>
public sealed class StateStreamTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _fixture.Dispose();

    [Theory]
    [MemberData(nameof(StateFixture.Stores), MemberType = typeof(StateFixture))]
    public async Task WriteState_WritesWhatLoadStateHolds_InChunks(string store)
    {
        await using StatePersistenceService service = await _fixture.OpenAsync(store);
        PersistedState initial = await service.LoadStateAsync(Ct);
        initial.ExtensionData = new() { ["app_setting"] = JsonDocument.Parse("""{"theme":"dark"}""").RootElement.Clone() };
        await service.SaveStateAsync(initial, Ct);
        for (int i = 0; i < 60; i++)
        {
            await service.SaveTaskAsync(StateFixture.Task($"task_{i:D2}", TaskStatuses.Completed, description: new string((char)('a' + (i % 26)), 4000)), Ct);
        }

        await service.SaveSessionAsync(new SessionInfo { Id = "s1", Type = "interactive", Status = "active" }, Ct);
        var written = new RecordingStream();

        await service.WriteStateAsync(written, Ct);

        PersistedState loaded = await service.LoadStateAsync(Ct);
        JsonNode? expected = JsonNode.Parse(JsonSerializer.Serialize(loaded, StateJsonContext.Default.PersistedState));
        JsonNode? actual = JsonNode.Parse(written.ToArray());
        Assert.True(JsonNode.DeepEquals(expected, actual), $"expected {expected?.ToJsonString()[..300]}, got {actual?.ToJsonString()[..300]}");
        Assert.Equal("dark", actual!["app_setting"]!["theme"]!.GetValue<string>());
        if (store == "file")
        {
            Assert.NotNull(actual["last_saved"]); // the snapshot SaveStateAsync wrote (the memory store keeps none)
        }

        // 60 tasks of 4 KB: several writes, none holding more than a chunk and the item that passed it.
        Assert.True(written.Writes > 2, $"{written.Writes} writes");
        Assert.InRange(written.LargestWrite, 1, StateJsonStream.ChunkBytes + 8 * 1024);
    }

    /// <summary>A memory stream that records how the text reached it.</summary>
    private sealed class RecordingStream : MemoryStream
    {
        public int Writes { get; private set; }

        public int LargestWrite { get; private set; }

        public override void Write(byte[] buffer, int offset, int count)
        {
            Record(count);
            base.Write(buffer, offset, count);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Record(buffer.Length);
            return base.WriteAsync(buffer, cancellationToken);
        }

        private void Record(int count)
        {
            Writes++;
            LargestWrite = Math.Max(LargestWrite, count);
        }
    }
}
