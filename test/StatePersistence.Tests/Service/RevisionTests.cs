using System.Text.Json;
using StatePersistence.Errors;
using StatePersistence.Model;
using StatePersistence.Storage;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>Issue 12 item 2: every task and session has a revision, kept across restarts, usable for conditional writes.</summary>
public sealed class RevisionTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task EveryCommittedChange_GivesTheItemTheNextRevision_AndAClientRevisionIsIgnored()
    {
        await using StatePersistenceService service = await _fixture.OpenAsync();
        AgentTask task = StateFixture.Task("task_1");
        task.Revision = 999;
        await service.SaveTaskAsync(task, Ct);
        var session = new SessionInfo { Id = "s1", Revision = 5 };
        Assert.True(await service.CreateSessionAsync(session, Ct));

        // The caller's objects are not changed; what is stored has the store's revisions.
        Assert.Equal((999, 5), (task.Revision, session.Revision));
        Assert.Equal(1, (await service.LoadTaskAsync("task_1", Ct))!.Revision);
        AgentTask updated = (await service.UpdateTaskAsync("task_1", t => t.Status = TaskStatuses.InProgress, Ct))!;
        Assert.Equal(3, updated.Revision);

        AgentTask loaded = (await service.LoadTaskAsync("task_1", Ct))!;
        Assert.Equal(3, loaded.Revision);
        Assert.Equal(2, (await service.LoadSessionAsync("s1", Ct))!.Revision);
        Assert.Equal(3, service.Revision);
        AgentTask appended = (await service.AppendTaskLogAsync("task_1", new TaskLogEntry { Message = "m" }, Ct))!;
        Assert.Equal(4, appended.Revision);
        Assert.Equal(4, (await service.LoadTaskAsync("task_1", Ct))!.Revision);
        Assert.Equal(appended.Logs.Count, (await service.LoadTaskAsync("task_1", Ct))!.Logs.Count);
    }

    [Fact]
    public async Task ConditionalWrites_AtTheCurrentRevisionSucceed_AndStaleOnesThrowWithTheCurrentItem()
    {
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.SaveTaskAsync(StateFixture.Task("task_1"), ExpectedRevision.Absent, Ct);
        await service.SaveTaskAsync(StateFixture.Task("task_1", description: "second"), ExpectedRevision.Exactly(1), Ct);

        StateConflictException stale = await Assert.ThrowsAsync<StateConflictException>(
            async () => await service.SaveTaskAsync(StateFixture.Task("task_1", description: "lost update"), ExpectedRevision.Exactly(1), Ct));
        Assert.Equal(("task", "task_1", (long?)2), (stale.Kind, stale.Id, stale.CurrentRevision));
        Assert.Equal("second", Assert.IsType<AgentTask>(stale.Current).Description);

        StateConflictException exists = await Assert.ThrowsAsync<StateConflictException>(
            async () => await service.SaveTaskAsync(StateFixture.Task("task_1"), ExpectedRevision.Absent, Ct));
        Assert.Equal(2, exists.CurrentRevision);

        StateConflictException missing = await Assert.ThrowsAsync<StateConflictException>(
            async () => await service.UpdateTaskAsync("task_9", _ => { }, ExpectedRevision.Exactly(1), Ct));
        Assert.Null(missing.Current);
        Assert.Null(missing.CurrentRevision);

        await Assert.ThrowsAsync<StateConflictException>(async () => await service.DeleteTaskAsync("task_1", ExpectedRevision.Exactly(1), Ct));
        Assert.True(await service.DeleteTaskAsync("task_1", ExpectedRevision.Exactly(2), Ct));
        Assert.Null(await service.LoadTaskAsync("task_1", Ct));
        Assert.Equal(3, service.Revision);
    }

    [Fact]
    public async Task ConcurrentConditionalUpdates_FromTheSameRevision_ExactlyOneWins()
    {
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.SaveSessionAsync(new SessionInfo { Id = "s1", Status = "new" }, Ct);

        Task<bool>[] writers = [.. Enumerable.Range(0, 16).Select(i => Task.Run(async () =>
        {
            try
            {
                await service.SaveSessionAsync(new SessionInfo { Id = "s1", Status = "writer " + i }, ExpectedRevision.Exactly(1), Ct);
                return true;
            }
            catch (StateConflictException)
            {
                return false;
            }
        }, Ct))];
        bool[] won = await Task.WhenAll(writers);

        Assert.Equal(1, won.Count(w => w));
        SessionInfo stored = (await service.LoadSessionAsync("s1", Ct))!;
        Assert.Equal(2, stored.Revision);
        Assert.Equal("writer " + Array.IndexOf(won, true), stored.Status);
    }

    [Fact]
    public async Task Revisions_AreWrittenToItemFilesSnapshotAndJournal_AndKeptAcrossRestart()
    {
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            await service.SaveTaskAsync(StateFixture.Task("task_1"), Ct);
            await service.SaveTaskAsync(StateFixture.Task("task_2"), Ct);
            await service.SaveSnapshotAsync(Ct);
            await service.SaveTaskAsync(StateFixture.Task("task_2", description: "after the snapshot"), Ct);
            await StateFixture.CrashAsync(service);
        }

        using (JsonDocument file = JsonDocument.Parse(await File.ReadAllTextAsync(_fixture.File("tasks", "task_1.json"), Ct)))
        {
            Assert.Equal(1, file.RootElement.GetProperty("revision").GetInt64());
        }

        using (JsonDocument snapshot = JsonDocument.Parse(await File.ReadAllTextAsync(_fixture.File("state.json"), Ct)))
        {
            Assert.Equal(2, snapshot.RootElement.GetProperty("tasks")[1].GetProperty("revision").GetInt64());
        }

        await using StatePersistenceService reopened = await _fixture.OpenAsync();
        Assert.Equal(3, reopened.Revision);
        Assert.Equal(3, (await reopened.LoadTaskAsync("task_2", Ct))!.Revision);
        Assert.Equal(1, (await reopened.LoadTaskAsync("task_1", Ct))!.Revision);
    }

    /// <summary>Today's defect the issue names: a rebuild from item files restarted the state's revision at 0.</summary>
    [Fact]
    public async Task RebuildFromItemFiles_ResumesAtTheHighestRevisionFound_EvenWhenTheLastChangeWasADeletion()
    {
        long before;
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            await service.SaveTaskAsync(StateFixture.Task("task_1"), Ct);
            await service.SaveTaskAsync(StateFixture.Task("task_2"), Ct);
            await service.DeleteTaskAsync("task_2", Ct);
            before = service.Revision;
        }

        // Every snapshot gone: only the item files (task_1 at revision 1) and the journal's cut remain.
        foreach (string snapshot in Directory.GetFiles(_fixture.StatePath, "state*.json"))
        {
            File.Delete(snapshot);
        }

        await using StatePersistenceService reopened = await _fixture.OpenAsync();
        Assert.True(reopened.LastRecovery!.RebuiltFromItemFiles);
        Assert.Equal(before, reopened.Revision);
        await reopened.SaveTaskAsync(StateFixture.Task("task_3"), Ct);
        Assert.Equal(before + 1, (await reopened.LoadTaskAsync("task_3", Ct))!.Revision);
    }
}
