using System.Text.Json;
using StatePersistence.FileStore;
using StatePersistence.FileSystem;
using StatePersistence.Storage;
using StatePersistence.Testing;
using StatePersistence.Testing.FaultInjection;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// The file store's disk use by kind is measured at most once per <see cref="StatePersistenceOptions.DiskUsageInterval"/>,
/// in the background, the first as the store opens: a measure asks the size of every file of the state directory
/// (0.5-0.8 s with 100,000 tasks), and every health check used to take one.
/// </summary>
public sealed class DiskUsageIntervalTests : IDisposable
{
    private static readonly JsonElement Report = JsonDocument.Parse("""{"ok":true}""").RootElement.Clone();

    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TheOpenStartsTheFirstMeasure_ChecksWithinTheIntervalReuseIt_ThenTheNextIsTakenInTheBackground()
    {
        await using Opened opened = await OpenAsync(TimeSpan.FromSeconds(30), PhysicalFileSystem.Instance);
        (FileStateStore store, StatePersistenceService service) = opened;

        // Started by the open, before any check: the first check (a readiness probe) takes it rather than wait for one.
        Assert.Equal(1, store.DiskUsage.Measures);
        await store.DiskUsage.Refreshing.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        await service.SaveReportAsync("r1", Report, Ct);
        Assert.Equal(0, store.CheckHealth().Details["files_reports"]);
        _fixture.Time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(0, store.CheckHealth().Details["files_reports"]);
        Assert.Equal(1, store.DiskUsage.Measures);

        // Due: this check still answers at once with the last measure, and starts the next.
        _fixture.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(0, store.CheckHealth().Details["files_reports"]);
        await store.DiskUsage.Refreshing.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        StoreHealth health = store.CheckHealth();

        Assert.Equal(1, health.Details["files_reports"]);
        Assert.Equal(2, store.DiskUsage.Measures);
        Assert.Equal(Directory.EnumerateFiles(_fixture.File("reports")).Sum(f => new FileInfo(f).Length), health.Details["bytes_reports"]);
    }

    [Fact]
    public async Task TheCountersKeptInMemory_AndTheFreeSpace_AreCurrentAtEveryCheck()
    {
        var files = new FaultInjectingFileSystem(PhysicalFileSystem.Instance);
        await using Opened opened = await OpenAsync(TimeSpan.FromHours(1), files);
        (FileStateStore store, StatePersistenceService service) = opened;
        // Checked at once: while the open's measure is still running, the check waits for it rather than take another.
        Assert.NotNull(store.CheckHealth().FreeBytes);

        files.InjectFault(FaultOperations.FreeSpace, InjectedError.IOError, persistent: true);
        StoreHealth health = store.CheckHealth();

        Assert.Null(health.FreeBytes);
        Assert.Contains("could not be inspected", health.Problem, StringComparison.Ordinal);
        Assert.Equal(1, store.DiskUsage.Measures);
    }

    [Fact]
    public async Task ABackgroundMeasureThatFails_IsReportedByTheNextChecks_UntilOneSucceeds()
    {
        var files = new FaultInjectingFileSystem(PhysicalFileSystem.Instance);
        await using Opened opened = await OpenAsync(TimeSpan.FromSeconds(30), files);
        (FileStateStore store, StatePersistenceService service) = opened;
        Assert.Null(store.CheckHealth().Problem);

        FaultRule denied = files.InjectFault(FaultOperations.List, InjectedError.AccessDenied, persistent: true,
            pathFilter: path => path.EndsWith("reports", StringComparison.Ordinal));
        _fixture.Time.Advance(TimeSpan.FromSeconds(30));
        store.CheckHealth();
        await store.DiskUsage.Refreshing.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        string? problem = store.CheckHealth().Problem;
        Assert.Contains("could not be inspected", problem, StringComparison.Ordinal);
        Assert.Contains(_fixture.StatePath, problem, StringComparison.Ordinal);

        files.RemoveFault(denied);
        _fixture.Time.Advance(TimeSpan.FromSeconds(30));
        store.CheckHealth();
        await store.DiskUsage.Refreshing.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.Null(store.CheckHealth().Problem);
    }

    [Fact]
    public async Task AFolderRefusingItsListing_MakesHealthDegradedNamingIt_AndKeepsTheLastMeasuredFigures()
    {
        var files = new FaultInjectingFileSystem(PhysicalFileSystem.Instance);
        await using Opened opened = await OpenAsync(TimeSpan.FromSeconds(30), files);
        (FileStateStore store, StatePersistenceService service) = opened;
        await service.SaveReportAsync("r1", Report, Ct);
        await MeasureAgainAsync(store, service);
        DateTimeOffset measuredAt = _fixture.Time.GetUtcNow();
        StateHealth measured = service.CheckHealth();
        Assert.Equal(StateHealthStatus.Healthy, measured.Status);
        Assert.Equal(1, measured.StoreDetails["files_reports"]);

        files.InjectFault(FaultOperations.List, InjectedError.AccessDenied, persistent: true,
            pathFilter: path => path.EndsWith("reports", StringComparison.Ordinal));
        await MeasureAgainAsync(store, service);
        StateHealth health = service.CheckHealth();

        // Before 2026-12-07: Healthy, no reason, and every folder's figures 0.
        Assert.Equal(StateHealthStatus.Degraded, health.Status);
        string reason = Assert.Single(health.Reasons);
        Assert.Contains($"Access to the path '{_fixture.File("reports")}' is denied", reason, StringComparison.Ordinal);
        Assert.Contains($"are those measured at {measuredAt:O}", reason, StringComparison.Ordinal);
        Assert.True(health.Writable);
        Assert.Equal(1, health.StoreDetails["files_reports"]);
        Assert.Equal(measured.StoreDetails["bytes_reports"], health.StoreDetails["bytes_reports"]);
        Assert.Equal(measured.StoreDetails["bytes_tasks"], health.StoreDetails["bytes_tasks"]);
    }

    [Fact]
    public async Task AnIntervalOfZero_MeasuresAtEveryCheck()
    {
        await using Opened opened = await OpenAsync(TimeSpan.Zero, PhysicalFileSystem.Instance);
        (FileStateStore store, StatePersistenceService service) = opened;

        for (int i = 1; i <= 3; i++)
        {
            await service.SaveReportAsync("r" + i, Report, Ct);
            Assert.Equal(i, store.CheckHealth().Details["files_reports"]);
        }

        Assert.Equal(3, store.DiskUsage.Measures);
    }

    [Fact]
    public async Task TheStoresClose_StopsAMeasureInFlight_AndReturnsOnceItHasEnded()
    {
        var files = new SlowListingFileSystem(PhysicalFileSystem.Instance, _fixture.File("tasks"));
        Opened opened = await OpenAsync(TimeSpan.FromSeconds(30), files);
        (FileStateStore store, StatePersistenceService service) = opened;
        for (int i = 0; i < 20; i++)
        {
            await service.SaveTaskAsync(StateFixture.Task($"task-{i}"), Ct);
        }

        await service.SaveSnapshotAsync(Ct);
        await store.DiskUsage.Refreshing.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        // The next measure lists tasks/ and stops there, as a listing of a large folder takes its time, until the close.
        files.SlowUntil(store.DiskUsage.Stopping);
        _fixture.Time.Advance(TimeSpan.FromSeconds(30));
        store.CheckHealth();
        Assert.True(files.Listing.Wait(TimeSpan.FromSeconds(30), Ct));

        await opened.DisposeAsync();
        bool ended = store.DiskUsage.Refreshing.IsCompleted;
        await store.DiskUsage.Refreshing.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        // Before 2026-12-07 the close returned at once, and the measure went on over the directory: the sizes of the
        // 20 task files, then every other folder.
        Assert.True(ended, "the close returned while the measure was still running");
        Assert.Equal(0, files.CallsAfterTheSlowListing);
    }

    /// <summary>Lets the last measure age past the interval, and waits for the one the next check starts.</summary>
    private async Task MeasureAgainAsync(FileStateStore store, StatePersistenceService service)
    {
        await store.DiskUsage.Refreshing.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        _fixture.Time.Advance(TimeSpan.FromSeconds(30));
        service.CheckHealth();
        await store.DiskUsage.Refreshing.WaitAsync(TimeSpan.FromSeconds(30), Ct);
    }

    private async Task<Opened> OpenAsync(TimeSpan diskUsageInterval, IFileSystem files)
    {
        StatePersistenceOptions options = _fixture.Options(o => o.DiskUsageInterval = diskUsageInterval);
        var store = new FileStateStore(options, files, timeProvider: _fixture.Time);
        var service = new StatePersistenceService(options, store, timeProvider: _fixture.Time);
        await service.StartAsync(Ct);
        return new Opened(store, service);
    }

    /// <summary>A store and the service over it, disposed together.</summary>
    private sealed record Opened(FileStateStore Store, StatePersistenceService Service) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Service.DisposeAsync();
            await Store.DisposeAsync();
        }
    }

    /// <summary>
    /// Holds the next listing of one folder until a token is cancelled (the store closing), as a folder of 100,000 files
    /// takes its time to list, and counts the file system calls the lister's thread (the measure's) makes after it.
    /// </summary>
    private sealed class SlowListingFileSystem(IFileSystem inner, string folder) : PassThroughFileSystem(inner)
    {
        private CancellationToken? _until;
        private int _callsAfter = -1;
        private int _lister = -1;

        public ManualResetEventSlim Listing { get; } = new();

        public int CallsAfterTheSlowListing => Math.Max(0, Volatile.Read(ref _callsAfter));

        public void SlowUntil(CancellationToken until) => _until = until;

        public override IReadOnlyList<string> ListFiles(string directory)
        {
            Counted();
            IReadOnlyList<string> names = Inner.ListFiles(directory);
            if (directory == folder && _until is { } until)
            {
                _until = null;
                Listing.Set();
                until.WaitHandle.WaitOne(TimeSpan.FromSeconds(30));
                Volatile.Write(ref _lister, Environment.CurrentManagedThreadId);
                Interlocked.Exchange(ref _callsAfter, 0);
            }

            return names;
        }

        public override IFileHandle Open(string path, FileOpenMode mode)
        {
            Counted();
            return Inner.Open(path, mode);
        }

        public override bool FileExists(string path)
        {
            Counted();
            return Inner.FileExists(path);
        }

        private void Counted()
        {
            if (Volatile.Read(ref _callsAfter) >= 0 && Volatile.Read(ref _lister) == Environment.CurrentManagedThreadId)
            {
                Interlocked.Increment(ref _callsAfter);
            }
        }
    }
}
