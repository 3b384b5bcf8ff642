using Microsoft.Extensions.Logging;
using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.FileStore;
using StatePersistence.FileSystem;
using StatePersistence.InMemory;
using StatePersistence.Model;
using StatePersistence.Serialization;
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

    /// <summary>The log line a checkpoint writes once written, before it is reported (<c>Snapshot written to …</c>).</summary>
    private const int SnapshotWrittenEvent = 6;

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

    [Fact]
    public async Task ACheckpointReportedAfterALaterSavesFailure_DoesNotClearIt()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var fixture = new StateFixture();
        var codec = new JournalFailsWhile();
        using var held = new HoldsTheFirstItemSavedLine(SnapshotWrittenEvent);
        using ILoggerFactory loggers = LoggerFactory.Create(builder => builder.AddProvider(held).SetMinimumLevel(LogLevel.Debug));
        StatePersistenceOptions options = fixture.Options(o =>
        {
            o.PayloadCodec = codec;
            o.AutosaveInterval = TimeSpan.Zero;
            o.ScrubInterval = TimeSpan.Zero;
        });
        await using var service = new StatePersistenceService(options, new FileStateStore(options, PhysicalFileSystem.Instance, codec, fixture.Time),
            loggers, fixture.Time);
        await service.StartAsync(ct);
        await service.SaveTaskAsync(NewTask("a"), ct);

        // The checkpoint is written; its report is held at the log line before it.
        Task checkpoint = Task.Run(() => service.SaveSnapshotAsync(ct).AsTask(), ct);
        await held.Holding.WaitAsync(ct);

        codec.Fail = true;
        await Assert.ThrowsAnyAsync<StatePersistenceException>(() => service.SaveTaskAsync(NewTask("b"), ct).AsTask());
        codec.Fail = false;
        held.Release();
        await checkpoint;

        StateHealth health = service.CheckHealth(lowDiskSpaceBytes: 0);
        Assert.Equal(StateHealthStatus.Unhealthy, health.Status);
        Assert.Contains(health.Reasons, r => r.StartsWith("The last save failed", StringComparison.Ordinal) && r.Contains("journal codec down", StringComparison.Ordinal));
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

    /// <summary>Stores payloads as they are; while <see cref="Fail"/> is set, sealing a journal record throws.</summary>
    private sealed class JournalFailsWhile : IPayloadCodec
    {
        private volatile bool _fail;

        public bool Fail
        {
            get => _fail;
            set => _fail = value;
        }

        public string Name => "journal-fails-while";

        public byte[] Encode(ReadOnlySpan<byte> plain, PayloadContext context) =>
            _fail && context.Kind == PayloadKind.JournalRecord ? throw new StateStorageException("journal codec down", null, null) : plain.ToArray();

        public byte[] Decode(ReadOnlySpan<byte> stored, PayloadContext context) => stored.ToArray();
    }

    /// <summary>Blocks the thread writing the first line of the event given (<c>Saved task …</c> by default) until <see cref="Release"/>.</summary>
    private sealed class HoldsTheFirstItemSavedLine(int heldEvent = ItemSavedEvent) : ILoggerProvider, ILogger
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
            if (eventId.Id == heldEvent && Interlocked.Exchange(ref _held, 1) == 0)
            {
                _holding.TrySetResult();
                _released.Wait(TestContext.Current.CancellationToken);
            }
        }

        public void Dispose() => _released.Dispose();
    }
}
