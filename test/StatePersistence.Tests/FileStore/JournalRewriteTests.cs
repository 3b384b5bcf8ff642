using System.Buffers.Binary;
using StatePersistence.Model;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>Recovery is idempotent when it writes replayed journal records anew after damage.</summary>
public sealed class JournalRewriteTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    /// <summary>
    /// Found by the corruption campaign (seed 1519314045): the first record after the snapshot damaged, and a task file
    /// newer than state.json (a checkpoint killed between its item files and its snapshot). The segment the first start
    /// wrote anew began at the second record, so the next start took state.json for older than the journal and rebuilt
    /// from the task files: a checkpoint and a restart then loaded another state than the first start had.
    /// </summary>
    [Fact]
    public async Task DamagedFirstRecordAfterTheSnapshot_NextStartsLoadWhatTheFirstLoaded()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService service = await _fixture.OpenAsync(o => o.ScrubInterval = TimeSpan.Zero);
        await service.SaveTaskAsync(StateFixture.Task("t1", description: "v1"), ct);
        await service.SaveSnapshotAsync(ct);
        await service.SaveTaskAsync(StateFixture.Task("t1", description: "v2"), ct);
        await service.SaveTaskAsync(StateFixture.Task("t2", description: "other"), ct);
        await StateFixture.CrashAsync(service);

        // What a checkpoint killed after writing its item files, before its snapshot, leaves.
        await File.WriteAllBytesAsync(_fixture.File("tasks", "t1.json"),
            PayloadEnvelope.Identity.Seal(PayloadKind.Task, "t1", ItemCodec.Serialize(StateFixture.Task("t1", description: "v2"))), ct);
        string segment = Directory.GetFiles(_fixture.File("journal"), "*.wal").Single(f =>
        {
            byte[] bytes = File.ReadAllBytes(f);
            return bytes.Length > 40 && BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(32)) == 0x314A5053;
        });
        byte[] journal = await File.ReadAllBytesAsync(segment, ct);
        journal[32 + 20 + 20] ^= 0x04;
        await File.WriteAllBytesAsync(segment, journal, ct);

        string? first;
        StatePersistenceService firstStart = await _fixture.OpenAsync(o => o.ScrubInterval = TimeSpan.Zero);
        Assert.NotEmpty(firstStart.LastRecovery!.DroppedJournalBytes);
        first = (await firstStart.LoadTaskAsync("t1", ct))!.Description;
        await StateFixture.CrashAsync(firstStart);

        StatePersistenceService writer = await _fixture.OpenAsync(o => o.ScrubInterval = TimeSpan.Zero);
        Assert.False(writer.LastRecovery!.RebuiltFromItemFiles);
        await writer.SaveSnapshotAsync(ct);
        await StateFixture.CrashAsync(writer);

        await using StatePersistenceService third = await _fixture.OpenAsync(o => o.ScrubInterval = TimeSpan.Zero);
        Assert.Equal(first, (await third.LoadTaskAsync("t1", ct))!.Description);
        Assert.Equal("other", (await third.LoadTaskAsync("t2", ct))!.Description);
    }
}
