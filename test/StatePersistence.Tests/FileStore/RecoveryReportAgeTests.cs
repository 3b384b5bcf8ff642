using StatePersistence.FileStore.Operations;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// <c>recovery-report.json</c> stays until a start finds something again, but the directory's health judges the last
/// start, as a server does: a report of corruption from an earlier start no longer makes it Degraded once a later start
/// found nothing (the upgrade audit: <c>statectl health</c> said Degraded after every clean start since, while the
/// server it ran beside said Healthy).
/// </summary>
public sealed class RecoveryReportAgeTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task CorruptionReportedByAnEarlierStart_IsShownAsSuch_AndNoLongerDegradesTheDirectory()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using (StatePersistenceService first = await _fixture.OpenAsync())
        {
            await first.SaveTaskAsync(StateFixture.Task("t1"), ct);
        }

        await File.WriteAllTextAsync(_fixture.File("state.json"), "{ not json", ct);
        _fixture.Time.Advance(TimeSpan.FromMinutes(1));
        StatePersistenceService damaged = await _fixture.OpenAsync();
        Assert.True(damaged.LastRecovery!.CorruptionDetected);
        await damaged.DisposeAsync();

        StateDirectoryHealth afterTheDamagedStart = StateDirectoryHealth.Inspect(_fixture.StatePath, lowDiskSpaceBytes: 0);
        Assert.Equal(StateHealthStatus.Degraded, afterTheDamagedStart.Status);
        Assert.False(afterTheDamagedStart.LastRecoveryIsFromAnEarlierStart);

        _fixture.Time.Advance(TimeSpan.FromMinutes(1));
        await using (StatePersistenceService clean = await _fixture.OpenAsync())
        {
            Assert.False(clean.LastRecovery!.CorruptionDetected);
        }

        StateDirectoryHealth afterACleanStart = StateDirectoryHealth.Inspect(_fixture.StatePath, lowDiskSpaceBytes: 0);
        Assert.True(afterACleanStart.Status == StateHealthStatus.Healthy, string.Join("\n", afterACleanStart.Reasons));
        Assert.True(afterACleanStart.LastRecoveryIsFromAnEarlierStart);
        Assert.True(afterACleanStart.LastRecovery!.CorruptionDetected);
        Assert.NotEmpty(Directory.GetFiles(_fixture.StatePath, "state.corrupt.*"));
    }
}
