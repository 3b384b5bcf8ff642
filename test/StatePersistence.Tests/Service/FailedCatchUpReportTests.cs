using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using StatePersistence.Commit;
using StatePersistence.Diagnostics;
using StatePersistence.Errors;
using StatePersistence.InMemory;
using StatePersistence.Model;
using StatePersistence.Recovery;
using StatePersistence.Storage;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>
/// Over a store other writers share, a write this instance's state would answer "not found" (or refuse) first asks the
/// store, and a whole-state save first catches up with the store's feed. When that read fails (the database down) the
/// write fails, and it is a failed save like any other: counted in <c>statepersistence.save.failures</c> under its
/// kind, raised as <c>StateSaveError</c> (operation <c>save-&lt;kind&gt;</c>) and the health's last error, once per call.
/// </summary>
public sealed class FailedCatchUpReportTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> Writes => ["update", "delete", "append-log", "save-state"];

    [Theory]
    [MemberData(nameof(Writes))]
    public async Task AWriteWhoseReadOfTheSharedStoreFails_IsAFailedSave_CountedRaisedAndRecordedOnce(string write)
    {
        await using ServiceProvider meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
        IMeterFactory factory = meters.GetRequiredService<IMeterFactory>();
        using var failures = new MetricCollector<long>(factory, StateMeter.Name, "statepersistence.save.failures");
        var inner = new InMemoryStateStore();
        var store = new UnreadableSharedStore(inner);
        await using var service = new StatePersistenceService(new StatePersistenceOptions { AutosaveInterval = TimeSpan.Zero }, store,
            meterFactory: factory, blobs: inner);
        var raised = new List<StateSaveErrorEventArgs>();
        service.StateSaveError += (_, e) =>
        {
            lock (raised)
            {
                raised.Add(e);
            }
        };
        await service.StartAsync(Ct);

        // "missing" is an item this instance lacks: before answering "not found" it asks the store, which fails.
        (string kind, Func<Task> call) = write switch
        {
            "update" => ("task", () => service.UpdateTaskAsync("missing", t => t.Description = "x", Ct).AsTask()),
            "delete" => ("session", () => service.DeleteSessionAsync("missing", Ct).AsTask()),
            "append-log" => ("task", () => service.AppendTaskLogAsync("missing", new TaskLogEntry { Message = "x" }, Ct).AsTask()),
            _ => ("state", (Func<Task>)(() => service.SaveStateAsync(new PersistedState(), Ct).AsTask())),
        };
        StateStorageException error = await Assert.ThrowsAsync<StateStorageException>(call);

        Assert.Same(store.Failure, error);
        StateSaveErrorEventArgs e = Assert.Single(raised);
        Assert.Equal("save-" + kind, e.Operation);
        Assert.Same(store.Failure, e.Error);
        Assert.Equal(1, failures.GetMeasurementSnapshot().Where(m => Equals(m.Tags["kind"], kind)).Sum(m => m.Value));
        Assert.Equal(store.Failure.Message, service.CheckHealth().LastError);
    }

    /// <summary>A store other instances share whose reads of an item's revision and of the feed's head fail (a database that refuses the query).</summary>
    private sealed class UnreadableSharedStore(InMemoryStateStore inner) : DelegatingStateStore<InMemoryStateStore>(inner), ISharedStateStore
    {
        public StateStorageException Failure { get; } = new("The store 'shared store' could not be read: connection refused",
            "shared store", new IOException("connection refused"));

        public override string Location => "shared store";

        public TimeSpan FeedPollInterval => TimeSpan.FromSeconds(1);

        public ValueTask<RecoveredState> ReloadAsync(CancellationToken cancellationToken = default) => throw Failure;

        public ValueTask<long?> ReadItemRevisionAsync(bool task, string id, CancellationToken cancellationToken = default) => throw Failure;

        public ValueTask<long> ReadFeedHeadAsync(CancellationToken cancellationToken = default) => throw Failure;
    }
}
