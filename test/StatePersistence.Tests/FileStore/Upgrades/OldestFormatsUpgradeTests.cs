using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using StatePersistence.Model;
using StatePersistence.Serialization;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore.Upgrades;

/// <summary>
/// A directory of the oldest formats this project wrote (90e2db6: state.json 2.0.0 without checksum, journal segments
/// of version 1, plain-text session logs, no revisions, no envelope), left by a kill -9 with changes after its last
/// snapshot: this build serves what that server answered, byte for byte, and its first checkpoint writes the current
/// formats. Fixture and expected answers made by the real build (see Fixtures/Upgrades/README.md).
/// </summary>
public sealed class OldestFormatsUpgradeTests : IDisposable
{
    private const string Fixture = "state-2.0.0-journal-v1-killed";
    private readonly StateFixture _fixture = new();

    public OldestFormatsUpgradeTests() => UpgradeFixtures.CopyTo(Fixture, _fixture.StatePath);

    public void Dispose() => _fixture.Dispose();

    private static string Expected(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "Upgrades", Fixture + ".expected", name);

    /// <summary>The JSON as the old server answered it, without <c>revision</c> (it had none; this build reads 0 or the record's).</summary>
    private static JsonNode WithoutRevision(ReadOnlySpan<byte> json)
    {
        JsonObject node = JsonNode.Parse(json)!.AsObject();
        node.Remove("revision");
        return node;
    }

    private static void AssertSameJson(string expectedFile, ReadOnlySpan<byte> actual)
    {
        JsonNode expected = WithoutRevision(File.ReadAllBytes(expectedFile));
        JsonNode got = WithoutRevision(actual);
        Assert.True(JsonNode.DeepEquals(expected, got), $"{Path.GetFileName(expectedFile)}:\n expected {expected.ToJsonString()}\n got      {got.ToJsonString()}");
    }

    [Fact]
    public async Task EverythingTheOldServerAnswered_IsServed_AndNothingIsReportedAsDamage()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync();

        AssertSameJson(Expected("task_plain.json"), ItemCodec.Serialize((await service.LoadTaskAsync("task_plain", ct))!));
        AssertSameJson(Expected("task_extra.json"), ItemCodec.Serialize((await service.LoadTaskAsync("task_extra", ct))!));
        AssertSameJson(Expected("session_1.json"), ItemCodec.Serialize((await service.LoadSessionAsync("session_1", ct))!));
        Assert.Null(await service.LoadTaskAsync("task_gone", ct));
        Assert.Equal(File.ReadAllBytes(Expected("session_1.log")), Encoding.UTF8.GetBytes((await service.ReadSessionLogAsync("session_1", ct))!));
        JsonElement report = (await service.LoadReportAsync("rep_1", ct))!.Value;
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(File.ReadAllBytes(Expected("rep_1.json"))), JsonNode.Parse(report.GetRawText())));

        Assert.Empty(service.LastRecovery!.Lost);
        Assert.Empty(service.LastRecovery.Quarantined);
        Assert.Equal(StateHealthStatus.Healthy, service.CheckHealth().Status);
    }

    [Fact]
    public async Task TheFirstCheckpoint_WritesTheCurrentFormats_AndAnAppendFramesTheLog_ReadBackByteForByteAfterARestart()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var damage = new List<string>();
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            service.CorruptionDetected += (_, e) => damage.Add(e.File.OriginalPath);
            await service.AppendSessionLogAsync("session_1", "\nafter the upgrade ✓\n", ct);
            await service.SaveSnapshotAsync(ct);
        }

        Assert.Empty(damage);
        Assert.Empty(Directory.GetFiles(_fixture.StatePath, "*.corrupt.*", SearchOption.AllDirectories));
        Assert.False(File.Exists(_fixture.File("tasks", "task_gone.json")));
        using (JsonDocument state = JsonDocument.Parse(File.ReadAllBytes(_fixture.File("state.json"))))
        {
            Assert.Equal(StateFormat.CurrentVersion, state.RootElement.GetProperty("version").GetString());
            Assert.StartsWith("crc32:", state.RootElement.GetProperty("checksum").GetString(), StringComparison.Ordinal);
        }

        foreach (string segment in Directory.GetFiles(_fixture.File("journal"), "*.wal"))
        {
            // A spare prepared ahead is zeros until it is started; every started one is of version 2.
            byte[] bytes = File.ReadAllBytes(segment);
            Assert.True(!bytes.AsSpan().ContainsAnyExcept((byte)0) || BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(4)) == 2, $"{segment} is not a version 2 segment");
        }

        Assert.Equal("SPLG"u8.ToArray(), File.ReadAllBytes(_fixture.File("logs", "session_session_1.log"))[..4]);

        await using StatePersistenceService restarted = await _fixture.OpenAsync();
        byte[] expectedLog = [.. File.ReadAllBytes(Expected("session_1.log")), .. "\nafter the upgrade ✓\n"u8];
        Assert.Equal(expectedLog, Encoding.UTF8.GetBytes((await restarted.ReadSessionLogAsync("session_1", ct))!));
        Assert.Equal(TaskStatuses.Completed, (await restarted.LoadTaskAsync("task_plain", ct))!.Status);
        Assert.Empty(restarted.LastRecovery!.Lost);
    }
}
