using Microsoft.Extensions.Logging;
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
