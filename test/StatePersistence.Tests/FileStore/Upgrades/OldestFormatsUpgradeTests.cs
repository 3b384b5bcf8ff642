using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
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

    private static string Expected(string name) => UpgradeFixtures.Expected(Fixture, name);

    [Fact]
    public async Task EverythingTheOldServerAnswered_IsServed_AndNothingIsReportedAsDamage()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync();

        await UpgradeFixtures.AssertServesTheOldAnswersAsync(service, Fixture, ct);

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
