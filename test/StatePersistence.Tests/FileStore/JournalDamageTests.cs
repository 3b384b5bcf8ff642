using StatePersistence.Errors;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>Damage at rest in the journal, under both recovery modes (issue 10 item 3).</summary>
public sealed class JournalDamageTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private async Task<(string Segment, byte[] Bytes)> ThreeSavesWithAFlippedByteInTheSecondAsync(int flipAt = -1)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceService first = await _fixture.OpenAsync(o => o.JournalPreallocationBytes = 4096);
        await first.SaveTaskAsync(StateFixture.Task("t1"), ct);
        await first.SaveTaskAsync(StateFixture.Task("t2"), ct);
        await first.SaveTaskAsync(StateFixture.Task("t3"), ct);
        await StateFixture.CrashAsync(first);
        string segment = Directory.GetFiles(_fixture.File("journal"), "*.wal").First(s => File.ReadAllBytes(s)[0] != 0);
        byte[] bytes = await File.ReadAllBytesAsync(segment, ct);
        bytes[flipAt >= 0 ? flipAt : bytes.AsSpan().IndexOf("\"t2\""u8) + 1] ^= 0x20;
        await File.WriteAllBytesAsync(segment, bytes, ct);
        return (segment, bytes);
    }

    [Fact]
    public async Task AbsoluteConsistency_RefusesToStartOnDamageInsideTheJournal_AndChangesNothing()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        (string segment, byte[] bytes) = await ThreeSavesWithAFlippedByteInTheSecondAsync();
        string[] files = Directory.GetFiles(_fixture.StatePath, "*", SearchOption.AllDirectories);

        StatePersistenceService strict = _fixture.Create(o => o.JournalRecoveryMode = JournalRecoveryMode.AbsoluteConsistency);
        var error = await Assert.ThrowsAsync<StateStorageException>(async () => await strict.StartAsync(ct));
        await strict.DisposeAsync();

        Assert.False(error.IsTransient);
        Assert.Contains(Path.GetFileName(segment), error.Message, StringComparison.Ordinal);
        Assert.Contains("AbsoluteConsistency", error.Message, StringComparison.Ordinal);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(segment, ct));
        Assert.Equal(files.Order(), Directory.GetFiles(_fixture.StatePath, "*", SearchOption.AllDirectories).Order());

        // The default mode then replays around the damage.
        await using StatePersistenceService tolerant = await _fixture.OpenAsync();
        Assert.Equal(["t1", "t3"], (await tolerant.LoadTasksAsync(ct)).Select(t => t.Id));
        DroppedRange(tolerant);
    }

    [Fact]
    public async Task DamagedSegmentHeader_TheRecordsAfterItAreStillReplayed_AndTheSegmentIsMovedAside()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        (string segment, byte[] bytes) = await ThreeSavesWithAFlippedByteInTheSecondAsync(flipAt: 9);

        await using StatePersistenceService second = await _fixture.OpenAsync();

        Assert.Equal(["t1", "t2", "t3"], (await second.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.Equal(0, DroppedRange(second).Offset);
        Assert.False(File.Exists(segment));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Assert.Single(second.LastRecovery!.Quarantined).QuarantinePath, ct));
    }

    [Fact]
    public async Task AfterADamagedSegmentWasMovedAside_TheNextStartIsClean()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await ThreeSavesWithAFlippedByteInTheSecondAsync();
        await StateFixture.CrashAsync(await _fixture.OpenAsync());

        await using StatePersistenceService third = await _fixture.OpenAsync();

        Assert.Equal(["t1", "t3"], (await third.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.Empty(third.LastRecovery!.Quarantined);
        Assert.DoesNotContain(third.LastRecovery.DroppedJournalBytes, d => d.Damage);
    }

    private static Recovery.DroppedByteRange DroppedRange(StatePersistenceService service)
    {
        Recovery.DroppedByteRange range = Assert.Single(service.LastRecovery!.DroppedJournalBytes, d => d.Damage);
        Assert.True(range.Length > 0);
        Assert.Contains(service.LastRecovery.Warnings, w => w.Contains($"Journal bytes {range.Offset}..", StringComparison.Ordinal));
        Assert.Contains(service.CheckHealth(0).Reasons, r => r.Contains("damaged and skipped", StringComparison.Ordinal));
        return range;
    }
}
