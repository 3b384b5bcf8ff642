using StatePersistence.Errors;
using StatePersistence.FileSystem;
using StatePersistence.Testing.FaultInjection;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// A start that moved corrupt files aside and then failed (a full disk refusing its <c>recovery-report.json</c>, the
/// copy of a torn tail, the journal written anew) puts them back before it lets the directory go, so "nothing was
/// lost" holds and the next start finds, moves aside and reports them itself. Found on a full tmpfs: the failed start
/// left <c>state.json</c> moved aside and reported nowhere, and the start after space was freed came up Healthy, from a
/// backup, without a word; a task whose corrupt file the failed start had moved aside (to be taken from the backup) was
/// then missing from the state, not even listed as lost.
/// </summary>
public sealed class FailedStartPutsBackWhatItMovedAsideTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static bool IsRecoveryReport(string path) => Path.GetFileName(path).StartsWith("recovery-report.json", StringComparison.Ordinal);

    [Fact]
    public async Task AStartFailingOnAFullDiskAfterMovingFilesAside_LeavesThemInPlace_AndTheNextStartReportsThemAndLosesNothing()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await _fixture.WriteWithBackupAsync();
        File.WriteAllText(_fixture.File("state.json"), "{ \"version\": \"2.1.0\", \"tas");
        File.WriteAllText(_fixture.File("tasks", "task_2.json"), "not json");

        var disk = new FaultInjectingFileSystem(PhysicalFileSystem.Instance);
        FaultRule full = disk.InjectFault(FaultOperations.Open, InjectedError.NoSpace, persistent: true, pathFilter: IsRecoveryReport);
        StateStorageException failed = await Assert.ThrowsAsync<StateStorageException>(async () => await _fixture.OpenAsync(fileSystem: disk));
        Assert.Contains("No space left on device", failed.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(_fixture.File("state.json")), "the failed start left state.json moved aside");
        Assert.True(File.Exists(_fixture.File("tasks", "task_2.json")), "the failed start left tasks/task_2.json moved aside");
        Assert.Empty(Directory.GetFiles(_fixture.StatePath, "*.corrupt.*", SearchOption.AllDirectories));

        disk.RemoveFault(full);
        await using StatePersistenceService second = await _fixture.OpenAsync(fileSystem: disk);
        Assert.Equal(["task_1", "task_2"], (await second.LoadTasksAsync(ct)).Select(t => t.Id));
        Assert.Contains(second.LastRecovery!.Quarantined, q => Path.GetFileName(q.OriginalPath) == "state.json");
        Assert.Contains(second.LastRecovery.Quarantined, q => Path.GetFileName(q.OriginalPath) == "task_2.json");
        Assert.Contains(second.LastRecovery.RestoredFromBackup, r => r.Id == "task_2");
        Assert.True(File.Exists(_fixture.File("recovery-report.json")));
        Assert.Equal(StateHealthStatus.Degraded, second.CheckHealth(0).Status);
    }
}
