using System.Text;
using StatePersistence.Errors;
using StatePersistence.FileStore;
using StatePersistence.FileSystem;
using StatePersistence.Retention;
using StatePersistence.Storage;
using StatePersistence.Testing;
using StatePersistence.Testing.FaultInjection;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// The file store answers a page of the report listing and the report count from an index in memory: each listed
/// the whole <c>reports/</c> folder before (35-80 ms a report save, 40-100 ms a page, at 50,000 reports). The index
/// must follow every way the store adds or removes a report, and a write that failed midway must not leave it wrong.
/// </summary>
public sealed class ReportIndexTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string ReportsDirectory => new StateLayout(_fixture.StatePath).ReportsDirectory;

    [Fact]
    public async Task PagesAndCounts_ListTheFolderOnce_HoweverManyAreAsked()
    {
        var files = new BoundedReadFileSystem(PhysicalFileSystem.Instance, _ => false, int.MaxValue);
        await using FileStateStore store = await OpenAsync(files);
        int atOpen = files.ListingsOf(ReportsDirectory); // start-up recovery's own look for temp files
        for (int i = 0; i < 10; i++)
        {
            await store.SaveReportAsync($"r{i}", Json, Durability.Full, Ct);
        }

        var walked = new List<string>();
        for (string? after = null; await store.ListReportsAsync(after, 3, Ct) is { Count: > 0 } page; after = page[^1])
        {
            walked.AddRange(page);
            Assert.Equal(walked.Count, walked.Distinct().Count());
        }

        await store.SaveReportAsync("r10", Json, Durability.Full, Ct);
        Assert.Equal(11, await store.CountReportsAsync(Ct));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"r{i}"), walked);
        Assert.Equal(atOpen + 1, files.ListingsOf(ReportsDirectory));
    }

    [Fact]
    public async Task TheIndex_FollowsAnExpiry_AnArchivesRemoval_AndACorruptReportMovedAside()
    {
        await using FileStateStore store = await OpenAsync(PhysicalFileSystem.Instance);
        foreach (string id in new[] { "expired", "archived", "corrupt", "kept" })
        {
            await store.SaveReportAsync(id, Json, Durability.Full, Ct);
        }

        Assert.Equal(4, await store.CountReportsAsync(Ct));

        Assert.NotNull(await ((IRetentionStore)store).ExpireReportAsync("expired", _ => true, Durability.Full, Ct));
        store.RemoveReport("archived");
        await File.WriteAllTextAsync(new StateLayout(_fixture.StatePath).ReportFile("corrupt"), "not a report", Ct);
        await Assert.ThrowsAsync<StateStorageException>(async () => await store.LoadReportAsync("corrupt", Ct));

        Assert.Equal(1, await store.CountReportsAsync(Ct));
        Assert.Equal(["kept"], await store.ListReportsAsync(null, 10, Ct));
        Assert.Equal(await store.ListReportsAsync(Ct), await store.ListReportsAsync(null, 10, Ct));
    }

    [Fact]
    public async Task ASaveThatFailedMidway_LeavesTheIndexAsTheFolderIs()
    {
        var files = new FaultInjectingFileSystem(PhysicalFileSystem.Instance);
        await using FileStateStore store = await OpenAsync(files);
        await store.SaveReportAsync("first", Json, Durability.Full, Ct);
        Assert.Equal(1, await store.CountReportsAsync(Ct));

        // The rename put the report in place; the directory's fsync after it failed, so the save failed.
        files.InjectFault(FaultOperations.SyncDirectory, InjectedError.IOError, pathFilter: path => path == ReportsDirectory);
        await Assert.ThrowsAsync<StateStorageException>(async () => await store.SaveReportAsync("second", Json, Durability.Full, Ct));

        Assert.Equal(await store.ListReportsAsync(Ct), await store.ListReportsAsync(null, 10, Ct));
        Assert.Equal((await store.ListReportsAsync(Ct)).Count, await store.CountReportsAsync(Ct));
    }

    private static byte[] Json => Encoding.UTF8.GetBytes("""{"ok":true}""");

    private async Task<FileStateStore> OpenAsync(IFileSystem files)
    {
        var store = new FileStateStore(_fixture.Options(), files, timeProvider: _fixture.Time);
        await store.OpenAsync(Ct);
        return store;
    }
}
