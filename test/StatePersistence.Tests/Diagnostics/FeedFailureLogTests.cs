using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using StatePersistence.Commit;
using StatePersistence.Diagnostics;
using StatePersistence.Errors;
using StatePersistence.InMemory;
using StatePersistence.Recovery;
using StatePersistence.Service.Sync;
using StatePersistence.Storage;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Diagnostics;

/// <summary>
/// A failed read of a shared store's change feed (the follower reading what the other instances committed) is no
/// failed save, and its log line says so: it was logged as <c>Saving failed (follow-changes) at ...</c> (event 5), and
/// its repeats as <c>Saving failed (follow-changes) ... again</c> (event 70), which sent an operator after a write that
/// never failed. It is still counted (<c>save_failures</c>, kind <c>follow-changes</c>) and raised
/// (<c>StateSaveError</c>, operation <c>follow-changes</c>) as before.
/// </summary>
public sealed class FeedFailureLogTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AFailedReadOfTheChangeFeed_IsLoggedAsSuch_NotAsAFailedSave_AndStillCountedAndRaised()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 6, 9, 0, 0, TimeSpan.Zero));
        var logs = new CapturedLogs();
        using ILoggerFactory loggers = LoggerFactory.Create(builder => builder.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        await using ServiceProvider meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
        IMeterFactory factory = meters.GetRequiredService<IMeterFactory>();
        using var failures = new MetricCollector<long>(factory, StateMeter.Name, "statepersistence.save.failures");
        var inner = new InMemoryStateStore();
        var store = new FeedFailingSharedStore(inner);
        var options = new StatePersistenceOptions { AutosaveInterval = TimeSpan.Zero };
        var raised = new List<StateSaveErrorEventArgs>();
        var service = new StatePersistenceService(options, store, loggers, time, factory, blobs: inner);
        service.StateSaveError += (_, e) =>
        {
            lock (raised)
            {
                raised.Add(e);
            }
        };

        await using (service)
        {
            await service.StartAsync(Ct);
            // The follower reads the feed again after RetryDelay on the service's clock, and fails the same way: the
            // clock is moved on until it has, the follower's wait and this loop racing harmlessly (bounded, no timing).
            for (int i = 0; i < 600 && Count(raised) < 2; i++)
            {
                time.Advance(ChangeFollower.RetryDelay);
                await Task.Delay(50, Ct);
            }
        }

        Assert.True(Count(raised) >= 2, "the follower did not read the feed a second time");
        Assert.All(raised, e => Assert.Equal("follow-changes", e.Operation));
        Assert.All(raised, e => Assert.Same(store.Failure, e.Error));
        Assert.Equal(raised.Count, failures.GetMeasurementSnapshot().Count(m => Equals(m.Tags["kind"], "follow-changes")));

        List<CapturedLogs.Entry> lines = [.. logs.Entries.Where(e => e.Message.Contains("follow-changes", StringComparison.Ordinal))];
        Assert.Equal(raised.Count, lines.Count);
        Assert.All(lines, e => Assert.DoesNotContain("Saving failed", e.Message, StringComparison.Ordinal));
        Assert.DoesNotContain(lines, e => e.Id is 5 or 70 or 81);
        Assert.Same(store.Failure, lines[0].Error);
        Assert.Equal("Reading the change feed failed (follow-changes) at shared store", lines[0].Message);
        // The same failure again within a minute: one line naming the cause and counting the repeats, as for saves.
        Assert.Null(lines[1].Error);
        Assert.StartsWith("Reading the change feed failed (follow-changes) at shared store again: " + store.Failure.Message, lines[1].Message, StringComparison.Ordinal);
        Assert.NotEqual(lines[0].Id, lines[1].Id);
    }

    private static int Count(List<StateSaveErrorEventArgs> raised)
    {
        lock (raised)
        {
            return raised.Count;
        }
    }

    /// <summary>A store other instances share whose change feed cannot be read (a database that refuses the query).</summary>
    private sealed class FeedFailingSharedStore(InMemoryStateStore inner) : DelegatingStateStore<InMemoryStateStore>(inner), ISharedStateStore
    {
        public StateStorageException Failure { get; } = new("The store 'shared store' could not read the change feed after position 0: connection refused",
            "shared store", new IOException("connection refused"));

        public override string Location => "shared store";

        public TimeSpan FeedPollInterval => TimeSpan.FromSeconds(1);

        public ValueTask<RecoveredState> ReloadAsync(CancellationToken cancellationToken = default) => Inner.OpenAsync(cancellationToken);

        public ValueTask<long?> ReadItemRevisionAsync(bool task, string id, CancellationToken cancellationToken = default) => ValueTask.FromResult<long?>(null);

        public ValueTask<long> ReadFeedHeadAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(0L);

        public override ValueTask<IReadOnlyList<CommittedGroup>> ReadChangesAsync(long afterPosition, CancellationToken cancellationToken = default) =>
            throw Failure;

        public override async IAsyncEnumerable<CommittedGroup> SubscribeAsync(long afterPosition, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await Task.Yield();
            throw Failure;
#pragma warning disable CS0162 // an iterator needs a yield to be one
            yield break;
#pragma warning restore CS0162
        }
    }
}
