using StatePersistence.FileStore.Operations;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// A start whose recovery moved a corrupt <c>state.json</c> aside writes none (start-up deletes nothing; a
/// checkpoint writes it, and deletes what it covers): until the server's first autosave, 30 s later by default, there
/// is none. <c>statectl verify</c> beside that server said it was missing, "deleted by hand?", which sent an operator
/// the wrong way; it now says what the recovery report records. The fixture's clock never moves, so no autosave runs.
/// </summary>
public sealed class VerifyMissingStateFileTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task BesideAServerWhoseStartMovedACorruptStateJsonAside_VerifySaysSo_NotDeletedByHand()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string backup = await _fixture.WriteWithBackupAsync();
        await File.WriteAllTextAsync(_fixture.File("state.json"), "{ not json", ct);
        _fixture.Time.Advance(TimeSpan.FromMinutes(1));

        await using StatePersistenceService service = await _fixture.OpenAsync();
        StateDirectoryVerification result = StateDirectoryVerifier.Verify(_fixture.StatePath);

        Assert.Equal("changed", (await service.LoadTaskAsync("task_1", ct))!.Description);
        Assert.False(File.Exists(_fixture.File("state.json")));
        string movedAside = Path.GetFileName(Assert.Single(Directory.GetFiles(_fixture.StatePath, "state.corrupt.*.json")));
        StateDirectoryProblem problem = Assert.Single(result.Problems);
        Assert.Equal(_fixture.File("state.json"), problem.Path);
        Assert.DoesNotContain("by hand", problem.Problem, StringComparison.Ordinal);
        Assert.Contains("moved it aside as corrupt", problem.Problem, StringComparison.Ordinal);
        Assert.Contains(service.LastRecovery!.StartedAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture), problem.Problem, StringComparison.Ordinal);
        Assert.Contains(movedAside, problem.Problem, StringComparison.Ordinal);
        Assert.Contains(Path.GetFileName(backup), problem.Problem, StringComparison.Ordinal);
        Assert.Contains("next checkpoint", problem.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AStateJsonMissingAfterACheckpointWroteItSinceThatRecovery_IsStillAskedAbout()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await _fixture.WriteWithBackupAsync();
        await File.WriteAllTextAsync(_fixture.File("state.json"), "{ not json", ct);
        _fixture.Time.Advance(TimeSpan.FromMinutes(1));
        await using (StatePersistenceService recovered = await _fixture.OpenAsync())
        {
            // Two checkpoints after the recovery: the second keeps the first one's state.json as a backup.
            await recovered.SaveTaskAsync(StateFixture.Task("task_2", description: "changed"), ct);
            await recovered.SaveSnapshotAsync(ct);
            _fixture.Time.Advance(TimeSpan.FromMinutes(1));
            await recovered.SaveTaskAsync(StateFixture.Task("task_2", description: "changed again"), ct);
            await recovered.SaveSnapshotAsync(ct);
        }

        // The recovery report still names the state.json that start moved aside; this one went another way.
        File.Delete(_fixture.File("state.json"));

        StateDirectoryProblem problem = Assert.Single(StateDirectoryVerifier.Verify(_fixture.StatePath).Problems);

        Assert.Contains("deleted by hand?", problem.Problem, StringComparison.Ordinal);
    }
}
