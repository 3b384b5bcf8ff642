using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.Events;
using StatePersistence.InMemory;
using StatePersistence.Model;
using StatePersistence.Recovery;
using StatePersistence.Service.Events;
using StatePersistence.Storage;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Diagnostics;

/// <summary>
/// A store that fails every write the same way (a database that is down) is logged once with the stack trace, then one
/// Error line counting the repeats every <see cref="RepeatedFailures.SummaryInterval"/> and a Debug line for each
/// repeat in between, until <see cref="RepeatedFailures.Window"/> has passed: every failure is still logged, raised and
/// counted, but the log no longer grows by some forty lines per request (70,000 lines in 40 s on one server of an
/// audit, PostgreSQL's tablespace full), nor by an Error line per request.
/// </summary>
public sealed class RepeatedFailureLogTests
{
    [Fact]
    public async Task TheSameFailureAgain_IsOneLineCountingTheRepeats_UntilTheWindowHasPassed()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 3, 20, 0, 0, TimeSpan.Zero));
        var logs = new CapturedLogs();
        using var loggerFactory = LoggerFactory.Create(builder => builder.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        var inner = new InMemoryStateStore();
        var options = new StatePersistenceOptions { AutosaveInterval = TimeSpan.Zero };
        await using var service = new StatePersistenceService(options, new EveryAppendFails(inner), loggerFactory, time, blobs: inner);
        await service.StartAsync(ct);
        int raised = 0;
        service.StateSaveError += (_, _) => Interlocked.Increment(ref raised);

        for (int i = 0; i < 3; i++)
        {
            await Assert.ThrowsAsync<StateStorageException>(() => service.SaveTaskAsync(NewTask("t" + i), ct).AsTask());
        }

        time.Advance(RepeatedFailures.SummaryInterval);
        await Assert.ThrowsAsync<StateStorageException>(() => service.SaveTaskAsync(NewTask("t3"), ct).AsTask());
        time.Advance(RepeatedFailures.Window);
        await Assert.ThrowsAsync<StateStorageException>(() => service.SaveTaskAsync(NewTask("t4"), ct).AsTask());

        IReadOnlyList<CapturedLogs.Entry> failures = logs.Entries.Where(e => e.Id is 5 or 70 or 81).ToList();
        Assert.Equal([5, 70, 81, 70, 5], failures.Select(e => e.Id));
        Assert.All(failures.Where(e => e.Id == 5), e => Assert.IsType<StateStorageException>(e.Error));
        Assert.All(failures.Where(e => e.Id != 5), e => Assert.Null(e.Error));
        Assert.Contains("again: The store 'memory' is down (1 repeat(s) since it was logged with its stack trace at 2026-12-03T20:00:00.0000000+00:00)",
            failures[1].Message, StringComparison.Ordinal);
        Assert.Contains("(3 repeat(s) since", failures[3].Message, StringComparison.Ordinal);
        Assert.Equal(5, raised);
    }

    private static AgentTask NewTask(string id) => new() { Id = id, Description = "d", Status = "pending" };

    /// <summary>Every append fails with the same message.</summary>
    private sealed class EveryAppendFails(InMemoryStateStore inner) : DelegatingStateStore<InMemoryStateStore>(inner)
    {
        public override string Location => "memory";

        public override ValueTask<IReadOnlyList<CommitOutcome>> AppendAsync(IReadOnlyList<IReadOnlyList<StateChange>> groups, Durability durability,
            CancellationToken cancellationToken = default) =>
            throw new StateStorageException("The store 'memory' is down", Location, new IOException("connection refused"));
    }
}
