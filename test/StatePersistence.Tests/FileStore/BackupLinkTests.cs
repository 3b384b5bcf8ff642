using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using StatePersistence.FileStore;
using StatePersistence.FileSystem;
using StatePersistence.Testing;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// A checkpoint gives the <c>state.json</c> it replaces its backup's name (a hard link) and then renames its successor
/// over it, so there is always a <c>state.json</c>. The crash suite proves it at every crash point
/// (<c>SnapshotWorkloadTests</c>, mutant 54); these tests cover the real disk, a file system without hard links, and a
/// checkpoint whose rename fails after the link.
/// </summary>
public sealed class BackupLinkTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task OnTheRealDisk_TheBackupIsTheReplacedStateJson_AndStateJsonIsNeverMissing()
    {
        var watched = new StateJsonWatch(PhysicalFileSystem.Instance, _fixture.File("state.json"));
        await using StatePersistenceService service = await _fixture.OpenAsync(fileSystem: watched);
        await service.SaveTaskAsync(StateFixture.Task("t1"), Ct);
        await service.SaveSnapshotAsync(Ct);
        byte[] first = await File.ReadAllBytesAsync(_fixture.File("state.json"), Ct);
        _fixture.Time.Advance(TimeSpan.FromSeconds(1));
        await service.SaveTaskAsync(StateFixture.Task("t2"), Ct);
        await service.SaveSnapshotAsync(Ct);

        string newest = Directory.GetFiles(_fixture.StatePath, "state.backup.*.json").Order(StringComparer.Ordinal).Last();
        Assert.Equal(first, await File.ReadAllBytesAsync(newest, Ct));
        Assert.NotEqual(first, await File.ReadAllBytesAsync(_fixture.File("state.json"), Ct));
        Assert.True(watched.Links > 0, "no checkpoint linked state.json to its backup");
        Assert.Equal(0, watched.RenamesAway);
    }

    [Fact]
    public async Task WithoutHardLinks_CheckpointsRenameAsBefore_AndSaySoOnce()
    {
        var logger = new FakeLogger<FileStateStore>();
        var noLinks = new NoHardLinks(PhysicalFileSystem.Instance);
        StatePersistenceOptions options = _fixture.Options();
        var store = new FileStateStore(options, noLinks, timeProvider: _fixture.Time, logger: logger);
        await using (var service = new StatePersistenceService(options, store, timeProvider: _fixture.Time))
        {
            await service.StartAsync(Ct);
            for (int i = 0; i < 3; i++)
            {
                await service.SaveTaskAsync(StateFixture.Task($"t{i}"), Ct);
                await service.SaveSnapshotAsync(Ct);
                _fixture.Time.Advance(TimeSpan.FromSeconds(1));
            }
        }

        Assert.Equal(1, noLinks.Refused);
        FakeLogRecord warning = Assert.Single(logger.Collector.GetSnapshot(), r => r.Id.Id == 12);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("rename state.json to its backup instead of linking it", warning.Message, StringComparison.Ordinal);
        Assert.NotEmpty(Directory.GetFiles(_fixture.StatePath, "state.backup.*.json"));

        await using StatePersistenceService reopened = await _fixture.OpenAsync();
        Assert.Equal(["t0", "t1", "t2"], (await reopened.LoadTasksAsync(Ct)).Select(t => t.Id).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task ARenameThatFailsAfterTheLink_RemovesTheLinkedBackup_SoFailuresDoNotCrowdOutHistory()
    {
        var failing = new FailingStateRename(PhysicalFileSystem.Instance, _fixture.File("state.json"));
        await using StatePersistenceService service = await _fixture.OpenAsync(fileSystem: failing);
        await service.SaveTaskAsync(StateFixture.Task("t1"), Ct);
        await service.SaveSnapshotAsync(Ct);
        string[] before = Directory.GetFiles(_fixture.StatePath, "state.backup.*.json");

        failing.Fail = true;
        for (int i = 0; i < 3; i++)
        {
            _fixture.Time.Advance(TimeSpan.FromSeconds(1));
            await Assert.ThrowsAnyAsync<Exception>(async () => await service.SaveSnapshotAsync(Ct));
        }

        Assert.Equal(before, Directory.GetFiles(_fixture.StatePath, "state.backup.*.json"));
        Assert.Empty(Directory.GetFiles(_fixture.StatePath, "state.json.*.tmp"));
        failing.Fail = false;
        _fixture.Time.Advance(TimeSpan.FromSeconds(1));
        await service.SaveSnapshotAsync(Ct);
        Assert.Equal(before.Length + 1, Directory.GetFiles(_fixture.StatePath, "state.backup.*.json").Length);
    }

    /// <summary>Counts links of <c>state.json</c> and renames of it to another name (which would leave none for a moment).</summary>
    private sealed class StateJsonWatch(IFileSystem inner, string stateFile) : PassThroughFileSystem(inner)
    {
        public int Links { get; private set; }

        public int RenamesAway { get; private set; }

        public override void Link(string existingPath, string newPath)
        {
            Links += existingPath == stateFile ? 1 : 0;
            base.Link(existingPath, newPath);
        }

        public override void Rename(string sourcePath, string destinationPath)
        {
            RenamesAway += sourcePath == stateFile ? 1 : 0;
            base.Rename(sourcePath, destinationPath);
        }
    }

    /// <summary>A file system without hard links (FAT, some network shares): link(2) fails with EPERM.</summary>
    private sealed class NoHardLinks(IFileSystem inner) : PassThroughFileSystem(inner)
    {
        public int Refused { get; private set; }

        public override void Link(string existingPath, string newPath)
        {
            Refused++;
            throw new NotSupportedException($"Cannot link '{existingPath}' to '{newPath}': Operation not permitted (errno 1).");
        }
    }

    /// <summary>While <see cref="Fail"/> is set, the rename of a new snapshot into place fails (EIO).</summary>
    private sealed class FailingStateRename(IFileSystem inner, string stateFile) : PassThroughFileSystem(inner)
    {
        public bool Fail { get; set; }

        public override void Rename(string sourcePath, string destinationPath)
        {
            if (Fail && destinationPath == stateFile)
            {
                throw new IOException($"Renaming '{sourcePath}' to '{destinationPath}' failed: Input/output error (errno 5).", 5);
            }

            base.Rename(sourcePath, destinationPath);
        }
    }
}
