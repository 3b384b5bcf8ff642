using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using StatePersistence.Diagnostics;
using StatePersistence.InMemory;
using StatePersistence.Model;
using StatePersistence.Recovery;
using StatePersistence.Storage;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>
/// Over a store other writers share, a write first reads the store (an item's revision, the feed's head). When that read
/// throws an <see cref="OperationCanceledException"/> the caller did not ask for (Npgsql's or a codec's
/// <c>HttpClient</c> timing out throws <see cref="TaskCanceledException"/>), the write failed: counted in
/// <c>statepersistence.save.failures</c>, raised as <c>StateSaveError</c> and the health's last error, as any failed
/// read of the store there is. The caller's own cancellation stays the caller's: thrown, nothing reported. Before
/// 2026-12-07 every cancellation there was taken for the caller's, and such a failure was reported nowhere.
/// </summary>
public sealed class CatchUpCancelledByItsStoreTests
{
    private const string Timeout = "The request was canceled due to the configured HttpClient.Timeout of 100 seconds elapsing.";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> Writes => ["update", "delete", "append-log", "save-state"];

    [Theory]
    [MemberData(nameof(Writes))]
    public async Task AWriteWhoseReadOfTheSharedStoreTimesOut_IsAFailedSave_CountedRaisedAndRecorded(string write)
    {
        await using ServiceProvider meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
        IMeterFactory factory = meters.GetRequiredService<IMeterFactory>();
        using var failures = new MetricCollector<long>(factory, StateMeter.Name, "statepersistence.save.failures");
        var inner = new InMemoryStateStore();
        var store = new TimingOutSharedStore(inner);
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

        (string kind, Func<CancellationToken, Task> call) = Write(service, write);
        TaskCanceledException error = await Assert.ThrowsAsync<TaskCanceledException>(() => call(Ct));

        Assert.Equal(Timeout, error.Message);
        StateSaveErrorEventArgs e = Assert.Single(raised);
        Assert.Equal("save-" + kind, e.Operation);
        Assert.Same(error, e.Error);
        Assert.Equal(1, failures.GetMeasurementSnapshot().Where(m => Equals(m.Tags["kind"], kind)).Sum(m => m.Value));
        Assert.Equal(Timeout, service.CheckHealth().LastError);
    }

    [Theory]
    [MemberData(nameof(Writes))]
    public async Task AWriteTheCallerCancelsWhileItReadsTheSharedStore_IsCancelled_AndNoFailureIsReported(string write)
    {
        var inner = new InMemoryStateStore();
        var store = new TimingOutSharedStore(inner) { WaitForTheCaller = true };
        await using var service = new StatePersistenceService(new StatePersistenceOptions { AutosaveInterval = TimeSpan.Zero }, store, blobs: inner);
        var raised = new List<StateSaveErrorEventArgs>();
        service.StateSaveError += (_, e) =>
        {
            lock (raised)
            {
                raised.Add(e);
            }
        };
        await service.StartAsync(Ct);

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        (_, Func<CancellationToken, Task> call) = Write(service, write);
        Task running = call(cancel.Token);
        await store.ReadEntered.WaitAsync(Ct);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        Assert.Empty(raised);
        Assert.Null(service.CheckHealth().LastError);
    }

    /// <summary>The write of <paramref name="write"/> on "missing", an item this instance lacks: before answering "not found" it reads the store.</summary>
    private static (string Kind, Func<CancellationToken, Task> Call) Write(StatePersistenceService service, string write) => write switch
    {
        "update" => ("task", ct => service.UpdateTaskAsync("missing", t => t.Description = "x", ct).AsTask()),
        "delete" => ("session", ct => service.DeleteSessionAsync("missing", ct).AsTask()),
        "append-log" => ("task", ct => service.AppendTaskLogAsync("missing", new TaskLogEntry { Message = "x" }, ct).AsTask()),
        _ => ("state", ct => service.SaveStateAsync(new PersistedState(), ct).AsTask()),
    };

    /// <summary>
    /// A store other instances share whose reads of an item's revision and of the feed's head throw as an
    /// <c>HttpClient</c> timing out does, or, with <see cref="WaitForTheCaller"/>, wait until the caller cancels.
    /// </summary>
    private sealed class TimingOutSharedStore(InMemoryStateStore inner) : DelegatingStateStore<InMemoryStateStore>(inner), ISharedStateStore
    {
        private readonly TaskCompletionSource _readEntered = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool WaitForTheCaller { get; init; }

        public Task ReadEntered => _readEntered.Task;

        public override string Location => "shared store";

        public TimeSpan FeedPollInterval => TimeSpan.FromSeconds(1);

        public ValueTask<RecoveredState> ReloadAsync(CancellationToken cancellationToken = default) => Inner.OpenAsync(cancellationToken);

        public async ValueTask<long?> ReadItemRevisionAsync(bool task, string id, CancellationToken cancellationToken = default)
        {
            await ReadAsync(cancellationToken);
            return null;
        }

        public async ValueTask<long> ReadFeedHeadAsync(CancellationToken cancellationToken = default)
        {
            await ReadAsync(cancellationToken);
            return 0;
        }

        private async Task ReadAsync(CancellationToken cancellationToken)
        {
            _readEntered.TrySetResult();
            if (WaitForTheCaller)
            {
                await Task.Delay(System.Threading.Timeout.Infinite, cancellationToken);
            }

            throw new TaskCanceledException(Timeout);
        }
    }
}
