using StatePersistence.Model;
using StatePersistence.Storage;

namespace StatePersistence.Conformance;

/// <summary>
/// A session's deletion through the service over the store: it deletes the record, then the log. Before, a session
/// created anew under the id between the two steps, and appended to, lost its new log to the second step.
/// </summary>
/// <typeparam name="THarness">The store's harness.</typeparam>
public abstract class SessionDeletionConformanceTests<THarness> : StoreConformanceBase<THarness>
    where THarness : StoreHarness, new()
{
    /// <summary>
    /// The deletion is held after the record is gone and before the log is deleted; meanwhile the session is saved
    /// again and its log appended to. The new log (and only it) is there afterwards, and after a restart.
    /// </summary>
    [Fact]
    public async Task ASessionCreatedAnewBetweenItsRecordAndLogDeletion_KeepsItsNewLog()
    {
        IStateStore store = CreateStore(Harness.DefaultCodec);
        var held = new HeldLogDeletion((IStateBlobStore)store);
        await using (var service = new StatePersistenceService(new StatePersistenceOptions(), store, blobs: held))
        {
            await service.StartAsync(Ct);
            await service.SaveSessionAsync(new SessionInfo { Id = "s1", Status = "active" }, Ct);
            await service.AppendSessionLogAsync("s1", "old session\n", Ct);

            Task<bool> deletion = service.DeleteSessionAsync("s1", Ct).AsTask();
            await held.Reached.Task.WaitAsync(Ct);
            Assert.Null(await service.LoadSessionAsync("s1", Ct));

            await service.SaveSessionAsync(new SessionInfo { Id = "s1", Status = "new" }, Ct);
            Task append = service.AppendSessionLogAsync("s1", "new session\n", Ct).AsTask();
            held.Release.SetResult();

            Assert.True(await deletion);
            await append;
            Assert.Equal("new session\n", await service.ReadSessionLogAsync("s1", Ct));
            Assert.Equal("new", (await service.LoadSessionAsync("s1", Ct))!.Status);
        }

        (IStateStore reopened, _) = await OpenAsync();
        await using (reopened)
        {
            byte[]? log = await ((IStateBlobStore)reopened).ReadSessionLogAsync("s1", Ct);
            Assert.Equal("new session\n", log is null ? null : System.Text.Encoding.UTF8.GetString(log));
        }
    }

    /// <summary>The store's session logs and reports; a log deletion waits for <see cref="Release"/> once it is asked for.</summary>
    private sealed class HeldLogDeletion(IStateBlobStore inner) : FirstContractBlobStore(inner), IStateBlobStore
    {
        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async ValueTask DeleteSessionLogAsync(string sessionId, CancellationToken cancellationToken = default)
        {
            Reached.TrySetResult();
            await Release.Task.WaitAsync(cancellationToken);
            await Inner.DeleteSessionLogAsync(sessionId, cancellationToken);
        }
    }
}
