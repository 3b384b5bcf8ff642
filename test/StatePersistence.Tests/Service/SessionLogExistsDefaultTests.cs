using System.Text.Json;
using StatePersistence.Diagnostics;
using StatePersistence.Events;
using StatePersistence.InMemory;
using StatePersistence.Model;
using StatePersistence.Querying;
using StatePersistence.Recovery;
using StatePersistence.Retention;
using StatePersistence.Storage;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>
/// <see cref="IStatePersistence.SessionLogExistsAsync"/>'s default, for an implementation written before the member:
/// a decorator that forwards every other member still compiles, and answers as the service does, for no log, a live
/// log, a log of an empty append, a log all in rotated parts and a deleted log, over the file and the in-memory store.
/// Before 2026-12-08 the member had no default, and such a class stopped compiling (error CS0535).
/// </summary>
public sealed class SessionLogExistsDefaultTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ADecoratorWithoutTheMember_AnswersAsTheService_OverTheFileStore()
    {
        await using StatePersistenceService service = await _fixture.OpenAsync(o => o.ScrubInterval = TimeSpan.Zero);
        await AssertAnswersAsync(service);
    }

    [Fact]
    public async Task ADecoratorWithoutTheMember_AnswersAsTheService_OverTheInMemoryStore()
    {
        await using var service = new StatePersistenceService(new StatePersistenceOptions(), new InMemoryStateStore(new InMemoryStorage()));
        await service.StartAsync(Ct);
        await AssertAnswersAsync(service);
    }

    private static async Task AssertAnswersAsync(StatePersistenceService service)
    {
        IStatePersistence decorated = new PreExistsDecorator(service);
        var blobs = (IStateBlobStore)service.Store;
        await service.AppendSessionLogAsync("live", "text\n", Ct);
        await blobs.AppendSessionLogAsync("empty", ReadOnlyMemory<byte>.Empty, Durability.Full, Ct);
        await service.AppendSessionLogAsync("parts", "rotated away\n", Ct);
        Assert.True((await ((IRetentionStore)blobs).CapSessionLogAsync("parts", 1, 1, Durability.Full, Ct))!.Rotated);
        Assert.Equal(0, await service.SessionLogSizeAsync("parts", Ct));
        await service.AppendSessionLogAsync("deleted", "gone\n", Ct);
        await service.DeleteSessionLogAsync("deleted", Ct);

        foreach ((string id, bool exists) in new[] { ("live", true), ("empty", true), ("parts", true), ("deleted", false), ("none", false) })
        {
            Assert.Equal(exists, await service.SessionLogExistsAsync(id, Ct));
            Assert.True(exists == await decorated.SessionLogExistsAsync(id, Ct), $"the default said the log of '{id}' {(exists ? "is not" : "is")} there");
            Assert.Equal(exists, await service.ReadSessionLogAsync(id, Ct) is not null);
        }
    }

    /// <summary>A decorator as a user wrote it before <see cref="IStatePersistence.SessionLogExistsAsync"/>: every other member forwarded.</summary>
    private sealed class PreExistsDecorator(IStatePersistence inner) : IStatePersistence
    {
        public RecoveryReport? LastRecovery => inner.LastRecovery;
        public string Location => inner.Location;
        public long Revision => inner.Revision;
        public int SessionCount => inner.SessionCount;
        public int TaskCount => inner.TaskCount;

        public event EventHandler<AutosaveTriggeredEventArgs>? AutosaveTriggered
        {
            add => inner.AutosaveTriggered += value;
            remove => inner.AutosaveTriggered -= value;
        }

        public event EventHandler<CorruptionDetectedEventArgs>? CorruptionDetected
        {
            add => inner.CorruptionDetected += value;
            remove => inner.CorruptionDetected -= value;
        }

        public event EventHandler<RemoteChangesAppliedEventArgs>? RemoteChangesApplied
        {
            add => inner.RemoteChangesApplied += value;
            remove => inner.RemoteChangesApplied -= value;
        }

        public event EventHandler<ShutdownSaveEventArgs>? ShutdownSaved
        {
            add => inner.ShutdownSaved += value;
            remove => inner.ShutdownSaved -= value;
        }

        public event EventHandler<StateLoadedEventArgs>? StateLoaded
        {
            add => inner.StateLoaded += value;
            remove => inner.StateLoaded -= value;
        }

        public event EventHandler<StateRecoveredEventArgs>? StateRecovered
        {
            add => inner.StateRecovered += value;
            remove => inner.StateRecovered -= value;
        }

        public event EventHandler<StateSaveErrorEventArgs>? StateSaveError
        {
            add => inner.StateSaveError += value;
            remove => inner.StateSaveError -= value;
        }

        public event EventHandler<StateSavedEventArgs>? StateSaved
        {
            add => inner.StateSaved += value;
            remove => inner.StateSaved -= value;
        }

        public ValueTask AppendSessionLogAsync(string sessionId, string text, CancellationToken cancellationToken = default) => inner.AppendSessionLogAsync(sessionId, text, cancellationToken);
        public ValueTask<AgentTask?> AppendTaskLogAsync(string taskId, TaskLogEntry entry, CancellationToken cancellationToken = default) => inner.AppendTaskLogAsync(taskId, entry, cancellationToken);
        public ValueTask<AgentTask?> AppendTaskLogAsync(string taskId, TaskLogEntry entry, Action<AgentTask>? check, CancellationToken cancellationToken = default) => inner.AppendTaskLogAsync(taskId, entry, check, cancellationToken);
        public StateHealth CheckHealth(long lowDiskSpaceBytes = 104857600) => inner.CheckHealth(lowDiskSpaceBytes);
        public ValueTask<long> CountReportsAsync(CancellationToken cancellationToken = default) => inner.CountReportsAsync(cancellationToken);
        public int CountTasks(TaskQuery query) => inner.CountTasks(query);
        public IReadOnlyDictionary<string, int> CountTasksByStatus() => inner.CountTasksByStatus();
        public ValueTask<bool> CreateSessionAsync(SessionInfo session, CancellationToken cancellationToken = default) => inner.CreateSessionAsync(session, cancellationToken);
        public ValueTask<bool> CreateTaskAsync(AgentTask task, CancellationToken cancellationToken = default) => inner.CreateTaskAsync(task, cancellationToken);
        public ValueTask<bool> DeleteSessionAsync(string id, CancellationToken cancellationToken = default) => inner.DeleteSessionAsync(id, cancellationToken);
        public ValueTask<bool> DeleteSessionAsync(string id, ExpectedRevision expected, CancellationToken cancellationToken = default) => inner.DeleteSessionAsync(id, expected, cancellationToken);
        public ValueTask DeleteSessionLogAsync(string sessionId, CancellationToken cancellationToken = default) => inner.DeleteSessionLogAsync(sessionId, cancellationToken);
        public ValueTask<bool> DeleteSessionLogIfNoSessionAsync(string sessionId, CancellationToken cancellationToken = default) => inner.DeleteSessionLogIfNoSessionAsync(sessionId, cancellationToken);
        public ValueTask<bool> DeleteTaskAsync(string id, CancellationToken cancellationToken = default) => inner.DeleteTaskAsync(id, cancellationToken);
        public ValueTask<bool> DeleteTaskAsync(string id, ExpectedRevision expected, CancellationToken cancellationToken = default) => inner.DeleteTaskAsync(id, expected, cancellationToken);
        public StateMetrics GetMetrics() => inner.GetMetrics();
        public ValueTask<IReadOnlyList<string>> ListReportsAsync(CancellationToken cancellationToken = default) => inner.ListReportsAsync(cancellationToken);
        public ValueTask<IReadOnlyList<string>> ListReportsAsync(string? after, int limit, CancellationToken cancellationToken = default) => inner.ListReportsAsync(after, limit, cancellationToken);
        public ValueTask<SessionInfo?> LoadLatestSessionAsync(string id, CancellationToken cancellationToken = default) => inner.LoadLatestSessionAsync(id, cancellationToken);
        public ValueTask<AgentTask?> LoadLatestTaskAsync(string id, CancellationToken cancellationToken = default) => inner.LoadLatestTaskAsync(id, cancellationToken);
        public ValueTask<JsonElement?> LoadReportAsync(string reportId, CancellationToken cancellationToken = default) => inner.LoadReportAsync(reportId, cancellationToken);
        public ValueTask<SessionInfo?> LoadSessionAsync(string id, CancellationToken cancellationToken = default) => inner.LoadSessionAsync(id, cancellationToken);
        public ValueTask<IReadOnlyList<SessionInfo>> LoadSessionsAsync(CancellationToken cancellationToken = default) => inner.LoadSessionsAsync(cancellationToken);
        public IReadOnlyList<SessionInfo> LoadSessionsPage(string? after, int limit) => inner.LoadSessionsPage(after, limit);
        public ValueTask<PersistedState> LoadStateAsync(CancellationToken cancellationToken = default) => inner.LoadStateAsync(cancellationToken);
        public ValueTask<AgentTask?> LoadTaskAsync(string id, CancellationToken cancellationToken = default) => inner.LoadTaskAsync(id, cancellationToken);
        public ValueTask<IReadOnlyList<AgentTask>> LoadTasksAsync(CancellationToken cancellationToken = default) => inner.LoadTasksAsync(cancellationToken);
        public ValueTask<IReadOnlyList<AgentTask>> LoadTasksAsync(string? status, CancellationToken cancellationToken = default) => inner.LoadTasksAsync(status, cancellationToken);
        public IReadOnlyList<AgentTask> LoadTasksPage(string? status, string? after, int limit) => inner.LoadTasksPage(status, after, limit);
        public ValueTask<ISessionLogReader?> OpenSessionLogAsync(string sessionId, CancellationToken cancellationToken = default) => inner.OpenSessionLogAsync(sessionId, cancellationToken);
        public TaskPage QueryTasks(TaskQuery query) => inner.QueryTasks(query);
        public ValueTask<TaskPage> QueryTasksAsync(TaskQuery query, CancellationToken cancellationToken = default) => inner.QueryTasksAsync(query, cancellationToken);
        public IAsyncEnumerable<StateEvent> ReadEventsAsync(StateEventPosition? after = default, CancellationToken cancellationToken = default) => inner.ReadEventsAsync(after, cancellationToken);
        public ValueTask<string?> ReadSessionLogAsync(string sessionId, CancellationToken cancellationToken = default) => inner.ReadSessionLogAsync(sessionId, cancellationToken);
        public ValueTask<ItemReplacement> ReplaceTaskAsync(AgentTask task, CancellationToken cancellationToken = default) => inner.ReplaceTaskAsync(task, cancellationToken);
        public ValueTask<ItemReplacement> ReplaceTaskAsync(AgentTask task, ExpectedRevision expected, Action<AgentTask, bool>? check, CancellationToken cancellationToken = default) => inner.ReplaceTaskAsync(task, expected, check, cancellationToken);
        public ValueTask<string> SaveReportAsync(string reportId, JsonElement report, CancellationToken cancellationToken = default) => inner.SaveReportAsync(reportId, report, cancellationToken);
        public ValueTask SaveSessionAsync(SessionInfo session, CancellationToken cancellationToken = default) => inner.SaveSessionAsync(session, cancellationToken);
        public ValueTask SaveSessionAsync(SessionInfo session, ExpectedRevision expected, CancellationToken cancellationToken = default) => inner.SaveSessionAsync(session, expected, cancellationToken);
        public ValueTask<DateTimeOffset> SaveSnapshotAsync(CancellationToken cancellationToken = default) => inner.SaveSnapshotAsync(cancellationToken);
        public ValueTask<(DateTimeOffset LastSaved, bool Written)> SaveSnapshotIfChangedAsync(CancellationToken cancellationToken = default) => inner.SaveSnapshotIfChangedAsync(cancellationToken);
        public ValueTask<DateTimeOffset> SaveStateAsync(PersistedState state, CancellationToken cancellationToken = default) => inner.SaveStateAsync(state, cancellationToken);
        public ValueTask SaveTaskAsync(AgentTask task, CancellationToken cancellationToken = default) => inner.SaveTaskAsync(task, cancellationToken);
        public ValueTask SaveTaskAsync(AgentTask task, ExpectedRevision expected, CancellationToken cancellationToken = default) => inner.SaveTaskAsync(task, expected, cancellationToken);
        public ValueTask<long> SessionLogSizeAsync(string sessionId, CancellationToken cancellationToken = default) => inner.SessionLogSizeAsync(sessionId, cancellationToken);
        public Task StartAsync(CancellationToken cancellationToken = default) => inner.StartAsync(cancellationToken);
        public ValueTask<SessionInfo?> UpdateSessionAsync(string id, Action<SessionInfo> update, CancellationToken cancellationToken = default) => inner.UpdateSessionAsync(id, update, cancellationToken);
        public ValueTask<SessionInfo?> UpdateSessionAsync(string id, Action<SessionInfo> update, ExpectedRevision expected, CancellationToken cancellationToken = default) => inner.UpdateSessionAsync(id, update, expected, cancellationToken);
        public ValueTask<AgentTask?> UpdateTaskAsync(string id, Action<AgentTask> update, CancellationToken cancellationToken = default) => inner.UpdateTaskAsync(id, update, cancellationToken);
        public ValueTask<AgentTask?> UpdateTaskAsync(string id, Action<AgentTask> update, ExpectedRevision expected, CancellationToken cancellationToken = default) => inner.UpdateTaskAsync(id, update, expected, cancellationToken);
        public ValueTask<SessionInfo?> WaitForSessionAsync(string id, long revision, CancellationToken cancellationToken = default) => inner.WaitForSessionAsync(id, revision, cancellationToken);
        public ValueTask<AgentTask?> WaitForTaskAsync(string id, long revision, CancellationToken cancellationToken = default) => inner.WaitForTaskAsync(id, revision, cancellationToken);
        public ValueTask WriteStateAsync(Stream destination, CancellationToken cancellationToken = default) => inner.WriteStateAsync(destination, cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
