using StatePersistence.FileStore.Operations;
using StatePersistence.Model;
using StatePersistence.Recovery;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore.Upgrades;

/// <summary>
/// A directory this build wrote, then an older build ran on it again (the binary rolled back) and was killed: what
/// that build acknowledged is there when this build opens the directory again. Fixture made by real builds (see
/// Fixtures/Upgrades/README.md).
/// </summary>
public sealed class RolledBackBinaryTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task Version1RecordsWrittenAfterThisBuildsVersion2Segment_AreReplayed_NotSuperseded()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        UpgradeFixtures.CopyTo("journal-v1-after-rollback", _fixture.StatePath);

        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            AgentTask a = (await service.LoadTaskAsync("task_a", ct))!;
            Assert.Equal(TaskStatuses.Completed, a.Status);
            Assert.Equal("done by the rolled-back build ✓", a.Result?.GetString());
            Assert.Equal(TaskStatuses.Failed, (await service.LoadTaskAsync("task_b", ct))!.Status);
            Assert.Equal(5, service.LastRecovery!.Revision);
            Assert.DoesNotContain(service.LastRecovery.Warnings, w => w.Contains("supersedes", StringComparison.Ordinal));
            Assert.Empty(service.LastRecovery.Lost);

            // This build's next segment goes after the rolled-back build's: a change now survives a crash with them.
            await service.UpdateTaskAsync("task_b", t => t.Status = TaskStatuses.Pending, ct);
            await StateFixture.CrashAsync(service);
        }

        await using StatePersistenceService restarted = await _fixture.OpenAsync();
        Assert.Equal(TaskStatuses.Completed, (await restarted.LoadTaskAsync("task_a", ct))!.Status);
        Assert.Equal(TaskStatuses.Pending, (await restarted.LoadTaskAsync("task_b", ct))!.Status);
        Assert.Equal(6, restarted.LastRecovery!.Revision);
    }

    [Fact]
    public async Task TextARolledBackBuildAppendedToAFramedLog_IsKeptAside_AndTheWarningSaysWhereItCameFrom()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        UpgradeFixtures.CopyTo("framed-log-plain-append-after-rollback", _fixture.StatePath);

        await using StatePersistenceService service = await _fixture.OpenAsync();

        Assert.Equal("by 90e2db6 ✓\nby this build ✓\n", await service.ReadSessionLogAsync("session_1", ct));
        DroppedByteRange cut = Assert.Single(service.LastRecovery!.DroppedSessionLogBytes);
        Assert.Equal("by 90e2db6 after the rollback\n"u8.ToArray(), File.ReadAllBytes(cut.KeptAs!));
        Assert.Contains(service.LastRecovery.Warnings, w => w.Contains("not a valid append", StringComparison.Ordinal)
            && w.Contains("Going back to an older build", StringComparison.Ordinal));
    }

    [Fact]
    public void StatectlsRead_OfTheSameDirectory_SeesTheRolledBackBuildsRecords()
    {
        UpgradeFixtures.CopyTo("journal-v1-after-rollback", _fixture.StatePath);

        StateDirectoryView view = StateDirectoryReader.Read(_fixture.StatePath);

        Assert.Equal(5, view.View.Revision);
        Assert.Equal(TaskStatuses.Completed, view.View.Tasks["task_a"].Status);
        Assert.Equal(TaskStatuses.Failed, view.View.Tasks["task_b"].Status);
    }
}
