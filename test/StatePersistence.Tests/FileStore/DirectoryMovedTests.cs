using StatePersistence.Errors;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// A state directory deleted or moved under a running process: its open journal would go on taking data that no
/// restart can find. Real directories, really deleted and renamed.
/// </summary>
public sealed class DirectoryMovedTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task SaveTask_AfterStateDirectoryWasDeleted_FailsAndSaysWhatHappened()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync(o => o.SnapshotOnShutdown = false);
        await service.SaveTaskAsync(StateFixture.Task("t1"), ct);

        Directory.Delete(_fixture.StatePath, recursive: true);

        var error = await Assert.ThrowsAsync<StateDirectoryMovedException>(() => service.SaveTaskAsync(StateFixture.Task("t2"), ct).AsTask());
        Assert.Contains("deleted or moved", error.Message, StringComparison.Ordinal);
        Assert.Contains(_fixture.StatePath, error.Message, StringComparison.Ordinal);
        Assert.True(error.IsTransient);
        Assert.Equal(StateHealthStatus.Unhealthy, service.CheckHealth().Status);
    }

    [Fact]
    public async Task SaveTask_AfterStateDirectoryWasReplaced_FailsAndLaterSavesFailToo()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync(o => o.SnapshotOnShutdown = false);
        await service.SaveTaskAsync(StateFixture.Task("t1"), ct);

        // An operator "restores" by moving the live directory away and putting a copy in its place.
        string moved = _fixture.StatePath + ".moved";
        Directory.Move(_fixture.StatePath, moved);
        Directory.CreateDirectory(Path.Combine(_fixture.StatePath, "journal"));

        await Assert.ThrowsAsync<StateDirectoryMovedException>(() => service.SaveTaskAsync(StateFixture.Task("t2"), ct).AsTask());
        await Assert.ThrowsAsync<StateDirectoryMovedException>(() => service.SaveTaskAsync(StateFixture.Task("t3"), ct).AsTask());
        await Assert.ThrowsAsync<StateDirectoryMovedException>(() => service.AppendSessionLogAsync("s1", "text", ct).AsTask());
        Assert.Contains("another directory", service.CheckHealth().Reasons.First(r => r.Contains("moved", StringComparison.Ordinal)), StringComparison.Ordinal);
        Directory.Delete(moved, recursive: true);
    }

    [Fact]
    public async Task OnceAMoveWasSeen_EveryWriteAndSnapshotSaysSo_AndNothingIsWrittenAtThePathAnyMore()
    {
        // The library audit's case: after the first refusal, later saves failed with a transient-looking "could not
        // find a part of the path" (a client retrying forever), and once a directory was put back at the path a save
        // wrote a journal segment holding its payload into it before being refused.
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync(o => o.SnapshotOnShutdown = false);
        await service.SaveTaskAsync(StateFixture.Task("t1"), ct);
        string moved = _fixture.StatePath + ".moved";
        Directory.Move(_fixture.StatePath, moved);

        await Assert.ThrowsAsync<StateDirectoryMovedException>(() => service.SaveTaskAsync(StateFixture.Task("t2"), ct).AsTask());
        await Assert.ThrowsAsync<StateDirectoryMovedException>(() => service.SaveTaskAsync(StateFixture.Task("t3"), ct).AsTask());
        await Assert.ThrowsAsync<StateDirectoryMovedException>(() => service.SaveSnapshotAsync(ct).AsTask());

        Directory.CreateDirectory(Path.Combine(_fixture.StatePath, "journal"));
        var error = await Assert.ThrowsAsync<StateDirectoryMovedException>(() => service.SaveTaskAsync(StateFixture.Task("t4"), ct).AsTask());
        await Assert.ThrowsAsync<StateDirectoryMovedException>(() => service.SaveSnapshotAsync(ct).AsTask());
        Assert.Empty(Directory.GetFiles(_fixture.StatePath, "*", SearchOption.AllDirectories));
        Assert.Contains(_fixture.StatePath, error.Message, StringComparison.Ordinal);
        Directory.Delete(moved, recursive: true);
    }

    [Fact]
    public async Task SaveTask_AfterJournalSegmentWasDeleted_IsNotAcknowledged()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using StatePersistenceService service = await _fixture.OpenAsync(o => o.SnapshotOnShutdown = false);
        await service.SaveTaskAsync(StateFixture.Task("t1"), ct);

        foreach (string segment in Directory.GetFiles(_fixture.File("journal"), "*.wal"))
        {
            File.Delete(segment);
        }

        var error = await Assert.ThrowsAsync<StateDirectoryMovedException>(() => service.SaveTaskAsync(StateFixture.Task("t2"), ct).AsTask());
        Assert.Contains("journal segment", error.Message, StringComparison.Ordinal);
    }
}
