using StatePersistence.Errors;
using StatePersistence.FileStore;
using StatePersistence.FileSystem;
using StatePersistence.Storage;
using StatePersistence.Testing.FaultInjection;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// A write that fails leaves no temp file behind (the disk-full audit: a failed <c>statectl import</c> left
/// <c>state.json.2.tmp</c>, about 1 MB, filling the volume until the import was run again): the failure still
/// propagates, and a temp file that cannot be removed either is named in it.
/// </summary>
public sealed class FailedWriteTempFileTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly StateFixture _fixture = new();
    private readonly FaultInjectingFileSystem _disk = new(PhysicalFileSystem.Instance);

    public void Dispose()
    {
        _fixture.Dispose();
        _directory.Dispose();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static bool IsTemp(string path) => path.EndsWith(StateLayout.TempSuffix, StringComparison.Ordinal);

    private static string[] TempFilesUnder(string directory) =>
        [.. Directory.GetFiles(directory, "*", SearchOption.AllDirectories).Where(IsTemp)];

    [Theory]
    [InlineData("Write")]
    [InlineData("Sync")]
    [InlineData("Rename")]
    public void AtomicWrite_FailingOnAFullDisk_RemovesItsTempFile_AndKeepsTheOldFile(string call)
    {
        FaultOperations failing = Enum.Parse<FaultOperations>(call);
        string path = _directory.Combine("state.json");
        File.WriteAllText(path, "old");
        _disk.InjectFault(failing, InjectedError.NoSpace, persistent: true);

        IOException error = Assert.Throws<IOException>(() =>
            AtomicFile.Write(_disk, new StateLayout(_directory.Path), path, new byte[1 << 20], Durability.Full));

        Assert.True(FaultInjectingFileSystem.IsInjected(error), error.ToString());
        Assert.Empty(TempFilesUnder(_directory.Path));
        Assert.Equal("old", File.ReadAllText(path));
    }

    [Fact]
    public void AtomicWrite_WhoseTempFileCannotBeRemovedEither_SaysSo_WithTheFirstFailureInside()
    {
        string path = _directory.Combine("state.json");
        _disk.InjectFault(FaultOperations.Sync, InjectedError.NoSpace, persistent: true);
        _disk.InjectFault(FaultOperations.Delete, InjectedError.IOError, persistent: true);

        IOException error = Assert.Throws<IOException>(() =>
            AtomicFile.Write(_disk, new StateLayout(_directory.Path), path, "new"u8, Durability.Full));

        string temp = Assert.Single(TempFilesUnder(_directory.Path));
        Assert.Contains("No space left on device", error.Message, StringComparison.Ordinal);
        Assert.Contains("could not be removed either", error.Message, StringComparison.Ordinal);
        Assert.Contains(temp, error.Message, StringComparison.Ordinal);
        Assert.Contains("Input/output error", error.Message, StringComparison.Ordinal);
        Assert.Equal(28, error.HResult);
        Assert.True(FaultInjectingFileSystem.IsInjected(error.InnerException!));
    }

    [Fact]
    public void TempWriteThroughAStream_FailingOnAFullDisk_RemovesItsTempFile()
    {
        string temp = new StateLayout(_directory.Path).NextTempPath(_directory.Combine("export.tar.gz"));
        _disk.InjectFault(FaultOperations.Write, InjectedError.NoSpace, nthCall: 2, persistent: true);

        // Four writes of 256 KiB (each larger than the stream's buffer, so each reaches the disk): the second fails.
        Assert.Throws<IOException>(() => AtomicFile.WriteTemp(_disk, temp, stream =>
        {
            for (int i = 0; i < 4; i++)
            {
                stream.Write(new byte[1 << 18]);
            }
        }, Durability.Full));

        Assert.False(File.Exists(temp));
    }

    [Theory]
    [InlineData("tasks", "Write")]
    [InlineData("tasks", "SyncFileSystem, Sync")]
    [InlineData("tasks", "Rename")]
    [InlineData("state.json", "Write")]
    [InlineData("state.json", "Rename")]
    public async Task Checkpoint_FailingOnAFullDisk_LeavesNoTempFile_AndNextSucceeds(string where, string calls)
    {
        FaultOperations failing = Enum.Parse<FaultOperations>(calls);
        await using StatePersistenceService service = await _fixture.OpenAsync(fileSystem: _disk);
        foreach (int i in Enumerable.Range(0, 40))
        {
            await service.SaveTaskAsync(StateFixture.Task($"t{i}"), Ct);
        }

        // The tenth matching call: a checkpoint part-way through its item files, or the snapshot's temp file.
        string inPlace = Path.Combine(_fixture.StatePath, where);
        FaultRule fault = _disk.InjectFault(failing, InjectedError.NoSpace, nthCall: where == "tasks" && failing == FaultOperations.Write ? 10 : 1,
            persistent: true, pathFilter: p => p.StartsWith(inPlace, StringComparison.Ordinal));

        await Assert.ThrowsAsync<StateStorageException>(async () => await service.SaveSnapshotAsync(Ct));

        Assert.True(fault.FaultsInjected > 0);
        Assert.Empty(TempFilesUnder(_fixture.StatePath));
        _disk.RemoveFault(fault);
        await service.SaveSnapshotAsync(Ct);
        Assert.Equal(40, Directory.GetFiles(_fixture.File("tasks"), "*.json").Length);
    }

    [Theory]
    [InlineData("Write")]
    [InlineData("Sync")]
    [InlineData("Rename")]
    public async Task RewriteOfReplayedRecordsAtStart_FailingOnAFullDisk_RemovesItsTempFile_AndTheNextStartRecovers(string call)
    {
        FaultOperations failing = Enum.Parse<FaultOperations>(call);
        StatePersistenceService first = await _fixture.OpenAsync(o => o.ScrubInterval = TimeSpan.Zero);
        await first.SaveTaskAsync(StateFixture.Task("t1"), Ct);
        await StateFixture.CrashAsync(first);

        // The marker an append that failed leaves: the next start writes what it replays anew before serving it.
        string segment = Assert.Single(Directory.GetFiles(_fixture.File("journal"), "*.wal"));
        await File.WriteAllBytesAsync(segment + ".failed", [], Ct);
        string journal = _fixture.File("journal");
        FaultRule fault = _disk.InjectFault(failing, InjectedError.NoSpace, persistent: true,
            pathFilter: p => p.StartsWith(journal, StringComparison.Ordinal) && IsTemp(p));

        await Assert.ThrowsAsync<StateStorageException>(async () => await _fixture.OpenAsync(o => o.ScrubInterval = TimeSpan.Zero, _disk));

        Assert.True(fault.FaultsInjected > 0);
        Assert.Empty(TempFilesUnder(journal));
        _disk.RemoveFault(fault);
        await using StatePersistenceService again = await _fixture.OpenAsync(o => o.ScrubInterval = TimeSpan.Zero, _disk);
        Assert.NotNull(await again.LoadTaskAsync("t1", Ct));
    }
}
