using StatePersistence.Errors;
using StatePersistence.FileStore;
using StatePersistence.FileStore.Operations;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// The task archive on a running service (as a server's retention policy will call it), and the stores it refuses. The
/// crash suite (<c>TaskArchiveCrashTests</c>) and statectl's tests cover the rest.
/// </summary>
public sealed class TaskArchiveTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    private DateTimeOffset Now => _fixture.Time.GetUtcNow();

    [Fact]
    public async Task ArchiveAndRestore_OnARunningService_ServeOnWithoutTheArchivedTasks_AndAfterAReopen()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            await service.SaveTaskAsync(new AgentTask { Id = "old", Status = TaskStatuses.Completed, CompletedAt = Now.AddDays(-10) }, ct);
            await service.SaveTaskAsync(new AgentTask { Id = "new", Status = TaskStatuses.Completed, CompletedAt = Now }, ct);

            TaskArchiveResult archived = await TaskArchives.ArchiveAsync(service, Now.AddDays(-1), cancellationToken: ct);

            Assert.Equal(["old"], archived.Tasks);
            Assert.Empty(archived.StillLive);
            Assert.Null(await service.LoadTaskAsync("old", ct));
            Assert.Equal(1, service.TaskCount);
            await service.SaveTaskAsync(new AgentTask { Id = "later", Status = TaskStatuses.Pending }, ct);
            Assert.Equal(Path.Combine(_fixture.StatePath, "archive"), Path.GetDirectoryName(archived.Archive));
        }

        string file = Assert.Single(Directory.GetFiles(_fixture.File("archive")));
        await using (StatePersistenceService reopened = await _fixture.OpenAsync())
        {
            Assert.Equal(["later", "new"], (await reopened.LoadTasksAsync(ct)).Select(t => t.Id));

            TaskRestoreResult restored = await TaskArchives.RestoreAsync(reopened, file, ct);

            Assert.Equal(["old"], restored.Tasks);
            AgentTask back = (await reopened.LoadTaskAsync("old", ct))!;
            Assert.Equal(Now.AddDays(-10), back.CompletedAt);
            Assert.Equal(restored.Revision, back.Revision);
        }
    }

    [Fact]
    public async Task Archive_OfAnEncryptedDirectory_IsRefused_AndChangesNothing()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        StatePersistenceOptions options = _fixture.Options();
        await using var service = new StatePersistenceService(options,
            new FileStateStore(options, PhysicalFileSystem.Instance, new AesGcmTestCodec(), _fixture.Time), timeProvider: _fixture.Time);
        await service.StartAsync(ct);
        await service.SaveTaskAsync(new AgentTask { Id = "old", Status = TaskStatuses.Failed, UpdatedAt = Now.AddDays(-10) }, ct);

        StatePersistenceException refused = await Assert.ThrowsAsync<StatePersistenceException>(() => TaskArchives.ArchiveAsync(service, Now, cancellationToken: ct));

        Assert.Contains("encrypted", refused.Message, StringComparison.Ordinal);
        Assert.Contains(_fixture.StatePath, refused.Message, StringComparison.Ordinal);
        Assert.NotNull(await service.LoadTaskAsync("old", ct));
        Assert.False(Directory.Exists(_fixture.File("archive")));
    }

    [Fact]
    public async Task Archive_OverAStoreThatIsNotTheFileStore_IsRefusedNamingIt()
    {
        await using StatePersistenceService service = await _fixture.OpenAsync("memory");

        ArgumentException refused = await Assert.ThrowsAsync<ArgumentException>(() => TaskArchives.ArchiveAsync(service, Now, cancellationToken: TestContext.Current.CancellationToken));

        Assert.Contains("file store", refused.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _fixture.Dispose();
}
