using Microsoft.Extensions.Logging;
using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.InMemory;
using StatePersistence.Model;
using StatePersistence.Storage;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>
/// The health goes by the save that finished last in the store, not by the report that arrived last: a save that
/// became durable before a later save failed, and whose report reached the health check only after that failure (its
/// caller's thread descheduled, a slow logger), leaves the health Unhealthy, naming the failure. Before 2026-12-07 that
/// late success cleared the failure, and the health said Healthy while the latest save had failed.
/// </summary>
public sealed class HealthOrderOfSaveOutcomesTests
{
    /// <summary>The log line a task save writes after it is durable, before it is reported (<c>Saved task … at revision …</c>).</summary>
    private const int ItemSavedEvent = 10;

    [Fact]
    public async Task ASuccessReportedAfterALaterSavesFailure_DoesNotClearIt()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var inner = new InMemoryStateStore();
        var store = new FailsAppendsOf(inner, "b");
        using var held = new HoldsTheFirstItemSavedLine();
        using ILoggerFactory loggers = LoggerFactory.Create(builder => builder.AddProvider(held).SetMinimumLevel(LogLevel.Debug));
        await using var service = new StatePersistenceService(new StatePersistenceOptions { AutosaveInterval = TimeSpan.Zero }, store, loggers, blobs: inner);
        await service.StartAsync(ct);

        // "a" becomes durable; its report is held at the log line before it.
        Task a = Task.Run(() => service.SaveTaskAsync(NewTask("a"), ct).AsTask(), ct);
        await held.Holding.WaitAsync(ct);

        // "b", a later save, fails and is reported; then a's success is.
        await Assert.ThrowsAsync<StateStorageException>(() => service.SaveTaskAsync(NewTask("b"), ct).AsTask());
        held.Release();
        await a;

        StateHealth health = service.CheckHealth();
        Assert.Equal(StateHealthStatus.Unhealthy, health.Status);
        Assert.Contains(health.Reasons, r => r.StartsWith("The last save failed: database down", StringComparison.Ordinal));

        // A save that finishes after the failure clears it.
        await service.SaveTaskAsync(NewTask("c"), ct);
        Assert.Equal(StateHealthStatus.Healthy, service.CheckHealth().Status);
    }

    private static AgentTask NewTask(string id) => new() { Id = id, Description = "d", Status = "pending" };

    /// <summary>Fails every append that holds the task <c>id</c>, as a database refusing that write would.</summary>
    private sealed class FailsAppendsOf(InMemoryStateStore inner, string id) : DelegatingStateStore<InMemoryStateStore>(inner)
    {
        public override ValueTask<IReadOnlyList<CommitOutcome>> AppendAsync(IReadOnlyList<IReadOnlyList<StateChange>> groups, Durability durability,
            CancellationToken cancellationToken = default) =>
            groups.Any(g => g.Any(c => c.Id == id))
                ? throw new StateStorageException("database down", Location, null)
                : Inner.AppendAsync(groups, durability, cancellationToken);
    }

    /// <summary>Blocks the thread writing the first <c>Saved task …</c> line until <see cref="Release"/>.</summary>
    private sealed class HoldsTheFirstItemSavedLine : ILoggerProvider, ILogger
    {
        private readonly TaskCompletionSource _holding = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ManualResetEventSlim _released = new();
        private int _held;

        public Task Holding => _holding.Task;

        public void Release() => _released.Set();

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id == ItemSavedEvent && Interlocked.Exchange(ref _held, 1) == 0)
            {
                _holding.TrySetResult();
                _released.Wait(TestContext.Current.CancellationToken);
            }
        }

        public void Dispose() => _released.Dispose();
    }
}
