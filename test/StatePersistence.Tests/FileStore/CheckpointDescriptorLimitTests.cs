using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using StatePersistence.FileStore;
using StatePersistence.FileSystem;
using StatePersistence.Testing.FaultInjection;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// Checkpoints under a low descriptor limit (the audit: <c>ulimit -n 300</c>, an idle server holding about 250
/// descriptors, 200 tasks: every autosave failed "Too many open files" for good, because a checkpoint held up to 256
/// item files open at once; the journal grew without bound). The checkpoint must get through with the descriptors
/// there are, and say that it had to.
/// </summary>
public sealed class CheckpointDescriptorLimitTests : IDisposable
{
    private const int Limit = 40;
    private readonly StateFixture _fixture = new();
    private readonly FaultInjectingFileSystem _disk = new(PhysicalFileSystem.Instance);
    private readonly FakeLogger<FileStateStore> _log = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<StatePersistenceService> OpenAsync()
    {
        StatePersistenceOptions options = _fixture.Options();
        var store = new FileStateStore(options, _disk, timeProvider: _fixture.Time, logger: _log);
        var service = new StatePersistenceService(options, store, timeProvider: _fixture.Time);
        await service.StartAsync(Ct);
        return service;
    }

    [Fact]
    public async Task Checkpoint_WithFewerDescriptorsThanABatch_Succeeds_InSmallerBatches_AndSaysSo()
    {
        await using (StatePersistenceService service = await OpenAsync())
        {
            foreach (int i in Enumerable.Range(0, 200))
            {
                await service.SaveTaskAsync(StateFixture.Task($"t{i}"), Ct);
            }

            _disk.OpenFilesLimit = Limit;
            await service.SaveSnapshotAsync(Ct);

            Assert.Equal(200, Directory.GetFiles(_fixture.File("tasks"), "*.json").Length);
            Assert.Empty(Directory.GetFiles(_fixture.StatePath, "*.tmp", SearchOption.AllDirectories));
            Assert.Equal(Limit, _disk.MostOpenHandles);
            Assert.True(service.CheckHealth().StoreDetails["checkpoint_descriptor_shortages"] >= 1);
            FakeLogRecord warning = Assert.Single(_log.Collector.GetSnapshot(), r => r.Id.Name == "CheckpointOutOfDescriptors");
            Assert.Equal(LogLevel.Warning, warning.Level);
            Assert.Contains("Too many open files", warning.Message, StringComparison.Ordinal);
            Assert.Contains(_fixture.File("tasks"), warning.Message, StringComparison.Ordinal);
            Assert.Equal(StateHealthStatus.Healthy, service.CheckHealth(lowDiskSpaceBytes: 0).Status);
        }

        // The checkpoint, not the journal, holds the tasks now: a new process reads them from state.json.
        _disk.OpenFilesLimit = null;
        await using StatePersistenceService reopened = await OpenAsync();
        Assert.Equal(200, (await reopened.LoadTasksAsync(Ct)).Count);
        Assert.Equal(0, reopened.LastRecovery!.JournalRecordsReplayed);
    }
}
