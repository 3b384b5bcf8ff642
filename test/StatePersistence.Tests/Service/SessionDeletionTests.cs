using Microsoft.Extensions.Logging;
using StatePersistence.Conformance;
using StatePersistence.Errors;
using StatePersistence.Events;
using StatePersistence.InMemory;
using StatePersistence.Model;
using StatePersistence.Storage;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>
/// Deleting a session deletes its log; <see cref="StatePersistenceService.DeleteSessionLogAsync"/> deletes a log alone.
/// Before, the log outlived its session (<c>logs/session_&lt;id&gt;.log</c> stayed), and a new session with the same id
/// continued the old one's agent output. Real files.
/// </summary>
public sealed class SessionDeletionTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task DeleteSession_DeletesItsLogFile_SoANewSessionWithTheIdStartsAnEmptyLog()
    {
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            await service.SaveSessionAsync(new SessionInfo { Id = "s1", Status = "active" }, Ct);
            await service.AppendSessionLogAsync("s1", "old agent output\n", Ct);
            await service.AppendSessionLogAsync("s2", "another session's\n", Ct);

            Assert.True(await service.DeleteSessionAsync("s1", Ct));

            Assert.False(File.Exists(_fixture.File("logs", "session_s1.log")));
            Assert.Null(await service.ReadSessionLogAsync("s1", Ct));
            await service.SaveSessionAsync(new SessionInfo { Id = "s1", Status = "active" }, Ct);
            await service.AppendSessionLogAsync("s1", "new\n", Ct);
        }

        await using StatePersistenceService reopened = await _fixture.OpenAsync();
        Assert.Equal("new\n", await reopened.ReadSessionLogAsync("s1", Ct));
        Assert.Equal("another session's\n", await reopened.ReadSessionLogAsync("s2", Ct));
    }

    [Fact]
    public async Task DeleteSession_WhoseRevisionMoved_ThrowsAndKeepsTheSessionAndItsLog()
    {
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.SaveSessionAsync(new SessionInfo { Id = "s1", Status = "active" }, Ct);
        await service.AppendSessionLogAsync("s1", "kept\n", Ct);
        long seen = (await service.LoadSessionAsync("s1", Ct))!.Revision;
        await service.UpdateSessionAsync("s1", s => s.Status = "paused", Ct);

        await Assert.ThrowsAsync<StateConflictException>(() => service.DeleteSessionAsync("s1", ExpectedRevision.Exactly(seen), Ct).AsTask());

        Assert.NotNull(await service.LoadSessionAsync("s1", Ct));
        Assert.Equal("kept\n", await service.ReadSessionLogAsync("s1", Ct));
    }

    [Fact]
    public async Task DeleteSession_OfAnIdWithOnlyALog_ReturnsFalse_AndDeletesTheLog()
    {
        // What a delete that failed or crashed between the session and its log leaves: calling it again finishes it.
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.AppendSessionLogAsync("s1", "left behind\n", Ct);

        Assert.False(await service.DeleteSessionAsync("s1", Ct));

        Assert.Null(await service.ReadSessionLogAsync("s1", Ct));
        Assert.False(File.Exists(_fixture.File("logs", "session_s1.log")));
    }

    [Fact]
    public async Task DeleteSessionLogIfNoSession_KeepsTheLogOfASessionThatIsThere_AndDeletesALogWithoutOne()
    {
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.SaveSessionAsync(new SessionInfo { Id = "s1", Status = "active" }, Ct);
        await service.AppendSessionLogAsync("s1", "kept\n", Ct);
        await service.AppendSessionLogAsync("s2", "no session\n", Ct);

        Assert.False(await service.DeleteSessionLogIfNoSessionAsync("s1", Ct));
        Assert.True(await service.DeleteSessionLogIfNoSessionAsync("s2", Ct));

        Assert.Equal("kept\n", await service.ReadSessionLogAsync("s1", Ct));
        Assert.Null(await service.ReadSessionLogAsync("s2", Ct));
        Assert.False(File.Exists(_fixture.File("logs", "session_s2.log")));
    }

    [Fact]
    public async Task DeleteSessionLog_KeepsTheSession_AndNamesABadId()
    {
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.SaveSessionAsync(new SessionInfo { Id = "s1", Status = "active" }, Ct);
        await service.AppendSessionLogAsync("s1", "text\n", Ct);
        long revision = (await service.LoadSessionAsync("s1", Ct))!.Revision;

        // Called here, not on another thread: the stream's start ("now") is taken before the deletion. The session's
        // own session:created may still come first: the feed delivers a change a moment after its save returned.
        Task<StateEvent> announced = FirstAsync(service.ReadEventsAsync(null, Ct), StateEventTypes.SessionLogDeleted);

        await service.DeleteSessionLogAsync("s1", Ct);

        StateEvent deleted = await announced;
        Assert.Equal((StateEventTypes.SessionLogDeleted, "s1"), (deleted.Type, deleted.Id));
        Assert.Null(await service.ReadSessionLogAsync("s1", Ct));
        Assert.Equal(revision, (await service.LoadSessionAsync("s1", Ct))!.Revision);
        var invalid = await Assert.ThrowsAsync<InvalidStateIdException>(() => service.DeleteSessionLogAsync("../s1", Ct).AsTask());
        Assert.Contains("../s1", invalid.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFailedLogDeletion_IsRaisedAsASaveError_AndThrownSayingTheSessionIsDeleted_AndASecondDeleteFinishesIt()
    {
        await using var inner = new InMemoryStateStore();
        var blobs = new FailingLogDeletion(inner);
        await using var service = new StatePersistenceService(new StatePersistenceOptions(), inner, blobs: blobs);
        await service.StartAsync(Ct);
        var errors = new List<string>();
        service.StateSaveError += (_, e) => errors.Add(e.Operation);
        await service.SaveSessionAsync(new SessionInfo { Id = "s1", Status = "active" }, Ct);
        await service.AppendSessionLogAsync("s1", "text\n", Ct);

        blobs.Fail = true;
        var failure = await Assert.ThrowsAsync<SessionLogNotDeletedException>(() => service.DeleteSessionAsync("s1", Ct).AsTask());

        // The session IS deleted: the exception says so (unlike any other storage failure), and that a second call finishes it.
        Assert.Equal("The session 's1' was deleted, but deleting its log failed: disk says no Deleting the session again (it then reports none) deletes the log.", failure.Message);
        Assert.IsType<IOException>(failure.InnerException);
        Assert.True(failure.IsTransient);
        Assert.Equal(["delete-log"], errors);
        Assert.Equal(StateHealthStatus.Unhealthy, service.CheckHealth().Status);
        Assert.Null(await service.LoadSessionAsync("s1", Ct));
        Assert.Equal("text\n", await service.ReadSessionLogAsync("s1", Ct));
        blobs.Fail = false;
        Assert.False(await service.DeleteSessionAsync("s1", Ct));
        Assert.Null(await service.ReadSessionLogAsync("s1", Ct));
        // The deletion that finished it is a write that succeeded: the health recovers with it, not a minute later.
        Assert.Equal(StateHealthStatus.Healthy, service.CheckHealth().Status);
    }

    [Fact]
    public async Task OnAStoreThatCannotDeleteLogs_DeleteSessionKeepsTheLog_AndAWarningSaysSoOnce()
    {
        var logs = new CapturedLogs();
        using var loggerFactory = LoggerFactory.Create(builder => builder.AddProvider(logs));
        await using var store = new InMemoryStateStore();
        await using var service = new StatePersistenceService(new StatePersistenceOptions(), store, loggerFactory, blobs: new FirstContractBlobStore(store));
        await service.StartAsync(Ct);
        foreach (string id in new[] { "s1", "s2" })
        {
            await service.SaveSessionAsync(new SessionInfo { Id = id, Status = "active" }, Ct);
            await service.AppendSessionLogAsync(id, "kept\n", Ct);
            Assert.True(await service.DeleteSessionAsync(id, Ct));
        }

        Assert.Equal("kept\n", await service.ReadSessionLogAsync("s1", Ct));
        CapturedLogs.Entry warning = Assert.Single(logs.Entries, e => e.Id == 77);
        Assert.Contains("cannot delete a session log", warning.Message, StringComparison.Ordinal);
        Assert.Contains("A new session with the same id would continue the old log", warning.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<NotSupportedException>(() => service.DeleteSessionLogAsync("s1", Ct).AsTask());
    }

    /// <summary>The first event of <paramref name="type"/>; the feed's changes of the setup may come before it.</summary>
    private static async Task<StateEvent> FirstAsync(IAsyncEnumerable<StateEvent> events, string type)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        await foreach (StateEvent item in events.WithCancellation(timeout.Token))
        {
            Assert.True(item.Type is StateEventTypes.SessionCreated or StateEventTypes.SessionUpdated or StateEventTypes.SessionLog or StateEventTypes.SessionLogDeleted,
                $"unexpected event {item.Type} before {type}");
            if (item.Type == type)
            {
                return item;
            }
        }

        throw new InvalidOperationException($"the event stream ended without a {type} event");
    }

    /// <summary>The in-memory store's blobs, whose log deletion fails with an I/O error while <see cref="Fail"/> is set.</summary>
    private sealed class FailingLogDeletion(InMemoryStateStore inner) : FirstContractBlobStore(inner), IStateBlobStore
    {
        public bool Fail { get; set; }

        public ValueTask DeleteSessionLogAsync(string sessionId, CancellationToken cancellationToken = default) =>
            Fail ? throw new IOException("disk says no") : inner.DeleteSessionLogAsync(sessionId, cancellationToken);
    }
}
