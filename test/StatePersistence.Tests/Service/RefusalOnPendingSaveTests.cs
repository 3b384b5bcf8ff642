using StatePersistence.Errors;
using StatePersistence.Model;
using StatePersistence.Storage;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>
/// Over a store with one writer, conditional writes and creates are decided on the latest state, which holds saves
/// whose append has not finished. A refusal (a conflict, an id taken, an item not found, the caller's check or update
/// throwing, as the server's quotas do) decided on a version such a save made would refuse a write because of one that
/// may never happen: the refusal waits until that save has its outcome and decides again, so it carries only a durable
/// item, and when the save fails the write goes ahead. A write
/// the pending version meets is queued behind it at once, as before (and fails with it).
/// </summary>
public sealed class RefusalOnPendingSaveTests : IAsyncLifetime
{
    private readonly HeldAppendStore _store = new();
    private StatePersistenceService _service = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _service = new StatePersistenceService(new StatePersistenceOptions(), _store, blobs: _store.Inner);
        await _service.StartAsync(Ct);
        await _service.SaveTaskAsync(NewTask("t1", "durable"), Ct);
    }

    public ValueTask DisposeAsync() => _service.DisposeAsync();

    [Fact]
    public async Task AConditionalSave_RefusedOnlyByASaveStillPending_IsStoredWhenThatSaveFails()
    {
        Task pending = await PendingAsync(() => _service.SaveTaskAsync(NewTask("t1", "UNCOMMITTED"), Ct).AsTask());

        // Decided while the save of "UNCOMMITTED" (revision 2) is in flight: it was refused with that task.
        Task conditional = _service.SaveTaskAsync(NewTask("t1", "conditional"), ExpectedRevision.Exactly(1), Ct).AsTask();
        _store.Release(new StateStorageException("append failed (test)", _store.Location, null));

        await Assert.ThrowsAsync<StateStorageException>(() => pending);
        await conditional;
        AgentTask? stored = await _service.LoadTaskAsync("t1", Ct);
        Assert.Equal(("conditional", 2L), (stored?.Description, stored?.Revision ?? 0));
    }

    [Fact]
    public async Task AConditionalSave_RefusedByASaveThatBecomesDurable_CarriesThatSavesTask()
    {
        Task pending = await PendingAsync(() => _service.SaveTaskAsync(NewTask("t1", "second"), Ct).AsTask());

        Task conditional = _service.SaveTaskAsync(NewTask("t1", "conditional"), ExpectedRevision.Exactly(1), Ct).AsTask();
        _store.Release();

        await pending;
        StateConflictException conflict = await Assert.ThrowsAsync<StateConflictException>(() => conditional);
        Assert.Equal(2, conflict.CurrentRevision);
        Assert.Equal("second", Assert.IsType<AgentTask>(conflict.Current).Description);
    }

    [Fact]
    public async Task AConditionalSave_MetOnlyByASaveStillPending_IsQueuedBehindIt_AndFailsWithIt()
    {
        Task pending = await PendingAsync(() => _service.SaveTaskAsync(NewTask("t1", "UNCOMMITTED"), Ct).AsTask());

        // Built on the pending revision 2 without waiting: had it waited, it would now be refused (revision 1 stands).
        Task behind = _service.SaveTaskAsync(NewTask("t1", "behind"), ExpectedRevision.Exactly(2), Ct).AsTask();
        _store.Release(new StateStorageException("append failed (test)", _store.Location, null));

        await Assert.ThrowsAsync<StateStorageException>(() => pending);
        StateStorageException error = await Assert.ThrowsAsync<StateStorageException>(() => behind);
        Assert.Contains("a save queued before it failed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACreate_OfAnIdOnlyAPendingCreateTook_CreatesWhenThatCreateFails()
    {
        Task pending = await PendingAsync(() => _service.CreateTaskAsync(NewTask("t2", "UNCOMMITTED"), Ct).AsTask());

        Task<bool> create = _service.CreateTaskAsync(NewTask("t2", "second create"), Ct).AsTask();
        _store.Release(new StateStorageException("append failed (test)", _store.Location, null));

        await Assert.ThrowsAsync<StateStorageException>(() => pending);
        Assert.True(await create);
        Assert.Equal("second create", (await _service.LoadTaskAsync("t2", Ct))?.Description);
    }

    [Fact]
    public async Task AConditionalUpdate_RefusedOnlyByASaveStillPending_IsStoredWhenThatSaveFails()
    {
        Task pending = await PendingAsync(() => _service.SaveTaskAsync(NewTask("t1", "UNCOMMITTED"), Ct).AsTask());

        Task<AgentTask?> update = _service.UpdateTaskAsync("t1", t => t.Description = "updated", ExpectedRevision.Exactly(1), Ct).AsTask();
        _store.Release(new StateStorageException("append failed (test)", _store.Location, null));

        await Assert.ThrowsAsync<StateStorageException>(() => pending);
        Assert.Equal(2, (await update)?.Revision);
        Assert.Equal("updated", (await _service.LoadTaskAsync("t1", Ct))?.Description);
    }

    [Fact]
    public async Task AConditionalReplace_RefusedOnlyByASaveStillPending_IsStoredWhenThatSaveFails()
    {
        Task pending = await PendingAsync(() => _service.SaveTaskAsync(NewTask("t1", "UNCOMMITTED"), Ct).AsTask());

        Task<ItemReplacement> replace = _service.ReplaceTaskAsync(NewTask("t1", "replaced"), ExpectedRevision.Exactly(1), null, Ct).AsTask();
        _store.Release(new StateStorageException("append failed (test)", _store.Location, null));

        await Assert.ThrowsAsync<StateStorageException>(() => pending);
        Assert.Equal(2, (await replace).Revision);
        Assert.Equal("replaced", (await _service.LoadTaskAsync("t1", Ct))?.Description);
    }

    [Fact]
    public async Task ADelete_NotFindingWhatOnlyAPendingDeleteRemoved_DeletesWhenThatDeleteFails()
    {
        Task pending = await PendingAsync(() => _service.DeleteTaskAsync("t1", Ct).AsTask());

        Task<bool> delete = _service.DeleteTaskAsync("t1", Ct).AsTask();
        _store.Release(new StateStorageException("append failed (test)", _store.Location, null));

        await Assert.ThrowsAsync<StateStorageException>(() => pending);
        Assert.True(await delete);
        Assert.Null(await _service.LoadTaskAsync("t1", Ct));
    }

    [Fact]
    public async Task ALogAppend_NotFindingATaskOnlyAPendingDeleteRemoved_AppendsWhenThatDeleteFails()
    {
        Task pending = await PendingAsync(() => _service.DeleteTaskAsync("t1", Ct).AsTask());

        Task<AgentTask?> append = _service.AppendTaskLogAsync("t1", new TaskLogEntry { Message = "appended" }, Ct).AsTask();
        _store.Release(new StateStorageException("append failed (test)", _store.Location, null));

        await Assert.ThrowsAsync<StateStorageException>(() => pending);
        Assert.NotNull(await append);
        Assert.Equal("appended", Assert.Single((await _service.LoadTaskAsync("t1", Ct))!.Logs).Message);
    }

    [Fact]
    public async Task ALogAppendCheck_RefusingOnlyBecauseOfAPendingAppend_AppendsWhenThatAppendFails()
    {
        Task pending = await PendingAsync(() => _service.AppendTaskLogAsync("t1", new TaskLogEntry { Message = "UNCOMMITTED" }, Ct).AsTask());

        // A quota of one log entry, as the server's checks enforce: on the pending version this append makes two.
        Task<AgentTask?> append = _service.AppendTaskLogAsync("t1", new TaskLogEntry { Message = "appended" }, AtMostOneLogEntry, Ct).AsTask();
        _store.Release(new StateStorageException("append failed (test)", _store.Location, null));

        await Assert.ThrowsAsync<StateStorageException>(() => pending);
        Assert.NotNull(await append);
        Assert.Equal("appended", Assert.Single((await _service.LoadTaskAsync("t1", Ct))!.Logs).Message);
    }

    [Fact]
    public async Task ALogAppendCheck_RefusingBecauseOfAnAppendThatBecomesDurable_StillRefuses()
    {
        Task pending = await PendingAsync(() => _service.AppendTaskLogAsync("t1", new TaskLogEntry { Message = "first" }, Ct).AsTask());

        Task<AgentTask?> append = _service.AppendTaskLogAsync("t1", new TaskLogEntry { Message = "second" }, AtMostOneLogEntry, Ct).AsTask();
        _store.Release();

        await pending;
        await Assert.ThrowsAsync<QuotaRefusal>(() => append);
        Assert.Equal("first", Assert.Single((await _service.LoadTaskAsync("t1", Ct))!.Logs).Message);
    }

    [Fact]
    public async Task AReplaceCheck_RefusingACreateOnlyAPendingDeleteMadeOne_ReplacesWhenThatDeleteFails()
    {
        Task pending = await PendingAsync(() => _service.DeleteTaskAsync("t1", Ct).AsTask());

        // A quota on creates (the server's MaxTasks at its limit): on the pending version the replace creates.
        Task<ItemReplacement> replace = _service.ReplaceTaskAsync(NewTask("t1", "replaced"), ExpectedRevision.Any,
            (_, created) => { if (created) { throw new QuotaRefusal(); } }, Ct).AsTask();
        _store.Release(new StateStorageException("append failed (test)", _store.Location, null));

        await Assert.ThrowsAsync<StateStorageException>(() => pending);
        ItemReplacement replaced = await replace;
        Assert.False(replaced.Created);
        Assert.Equal("replaced", (await _service.LoadTaskAsync("t1", Ct))?.Description);
    }

    [Fact]
    public async Task AnUpdateThatThrows_OnlyOnAPendingVersion_IsStoredWhenThatSaveFails()
    {
        Task pending = await PendingAsync(() => _service.SaveTaskAsync(NewTask("t1", "TOO LONG"), Ct).AsTask());

        // The server's PATCH checks its quotas in the update: here a limit the pending description breaks.
        Task<AgentTask?> update = _service.UpdateTaskAsync("t1", t =>
        {
            if (t.Description != "durable")
            {
                throw new QuotaRefusal();
            }

            t.Status = "running";
        }, Ct).AsTask();
        _store.Release(new StateStorageException("append failed (test)", _store.Location, null));

        await Assert.ThrowsAsync<StateStorageException>(() => pending);
        Assert.Equal("running", (await update)?.Status);
    }

    private static void AtMostOneLogEntry(AgentTask task)
    {
        if (task.Logs.Count > 1)
        {
            throw new QuotaRefusal();
        }
    }

    /// <summary>Starts <paramref name="save"/> with the store's appends held, and returns once its append is in flight.</summary>
    [Fact]
    public async Task AWholeStateSave_WithNothingToChangeButASaveStillPending_IsStoredWhenThatSaveFails()
    {
        Task pending = await PendingAsync(() => _service.SaveTaskAsync(NewTask("t2", "pending"), Ct).AsTask());

        // The state asked for is what the pending save would make: against the latest state there is nothing to change.
        var state = new PersistedState { Tasks = [NewTask("t1", "durable"), NewTask("t2", "pending")] };
        Task whole = _service.SaveStateAsync(state, Ct).AsTask();
        _store.Release(new StateStorageException("append failed (test)", _store.Location, null));

        await Assert.ThrowsAsync<StateStorageException>(() => pending);
        await whole;
        Assert.Equal("pending", (await _service.LoadTaskAsync("t2", Ct))?.Description);
        Assert.Equal(["t1", "t2"], (await _service.LoadTasksAsync(Ct)).Select(t => t.Id).Order(StringComparer.Ordinal));
    }

    private async Task<Task> PendingAsync(Func<Task> save)
    {
        _store.Hold();
        // On the thread pool: the save leads its group, and its append waits there.
        Task pending = Task.Run(save, Ct);
        await _store.AppendWaiting.WaitAsync(Ct);
        return pending;
    }

    private static AgentTask NewTask(string id, string description) => new() { Id = id, Description = description, Status = "pending" };

    /// <summary>What a caller's check throws to refuse a write (the server's quota exceeded).</summary>
    private sealed class QuotaRefusal : Exception;
}
