using Microsoft.Extensions.Logging;
using StatePersistence.Conformance;
using StatePersistence.InMemory;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Retention;

/// <summary>
/// A retention policy on a store the pass does not reach (one that does not implement IRetentionStore: a third-party
/// blob store here, the in-memory store's logs and reports behind the contract of before retention) does nothing: that is said once at start, as a warning naming the policy, instead of an operator
/// waiting for reports to expire that never will.
/// </summary>
public sealed class RetentionNotAppliedTests
{
    [Fact]
    public async Task APolicyOnAStoreThePassDoesNotReach_IsAWarningAtStart_NamingIt()
    {
        CapturedLogs logs = await StartAsync(new StatePersistenceOptions { Retention = { ReportMaxAge = TimeSpan.FromDays(7), SessionLogMaxBytes = 1024 } });

        CapturedLogs.Entry warning = Assert.Single(logs.Entries, e => e.Id == 71);
        Assert.Contains("Retention is configured (SessionLogMaxBytes=1024, ReportMaxAge=7.00:00:00) but the store", warning.Message, StringComparison.Ordinal);
        Assert.Contains("nothing is rotated, expired or archived", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoPolicy_NoWarning()
    {
        CapturedLogs logs = await StartAsync(new StatePersistenceOptions());
        Assert.DoesNotContain(logs.Entries, e => e.Id == 71);
    }

    /// <summary>
    /// A store the pass reaches but that keeps no task archives (not an <c>ITaskArchiveStore</c>: the in-memory store)
    /// says so once at start when <c>TaskArchiveAfter</c> is set (event 73), and the rest of the policy applies: its
    /// finished tasks stay live. The file store and PostgreSQL keep archives and say nothing.
    /// </summary>
    [Fact]
    public async Task ATaskArchiveOnAStoreThatKeepsNoArchives_IsAWarningAtStart_TheRestApplies()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var logs = new CapturedLogs();
        using var loggerFactory = LoggerFactory.Create(builder => builder.AddProvider(logs));
        var options = new StatePersistenceOptions { Retention = { TaskArchiveAfter = TimeSpan.FromDays(30), ReportMaxAge = TimeSpan.FromDays(7) } };
        await using (var service = new StatePersistenceService(options, new InMemoryStateStore(), loggerFactory))
        {
            await service.StartAsync(ct);
        }

        CapturedLogs.Entry warning = Assert.Single(logs.Entries, e => e.Id == 73);
        Assert.Contains("TaskArchiveAfter=30.00:00:00 is configured but the store", warning.Message, StringComparison.Ordinal);
        Assert.Contains("keeps no task archives", warning.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(logs.Entries, e => e.Id == 71);
    }

    private static async Task<CapturedLogs> StartAsync(StatePersistenceOptions options)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var logs = new CapturedLogs();
        using var loggerFactory = LoggerFactory.Create(builder => builder.AddProvider(logs));
        var store = new InMemoryStateStore();
        await using var service = new StatePersistenceService(options, store, loggerFactory, blobs: new FirstContractBlobStore(store));
        await service.StartAsync(ct);
        return logs;
    }
}
