using StatePersistence.FileStore;
using StatePersistence.FileStore.Operations;
using StatePersistence.FileSystem;
using StatePersistence.Testing;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// <see cref="StateDirectoryReader"/> beside a running server: a checkpoint may retire a journal segment between the
/// listing of <c>journal/</c> and the segment's read. That attempt reads again; when every attempt met one, the caller
/// is told the files kept changing (a transient error naming the directory), not handed the last
/// FileNotFoundException, which a clean-clone CI run on an overloaded machine saw escape
/// (<c>StateDirectoryReaderTests.Read_BesideARunningServerUnderLoad_IsAlwaysAConsistentPrefix</c>).
/// </summary>
public sealed class ReaderBesideACheckpointTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task ASegmentRetiredBetweenItsListingAndItsRead_MakesTheAttemptReadAgain()
    {
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            await service.SaveTaskAsync(StateFixture.Task("t1"), TestContext.Current.CancellationToken);
            await service.SaveTaskAsync(StateFixture.Task("t2"), TestContext.Current.CancellationToken);
        }

        var files = new SegmentRetiredFileSystem(PhysicalFileSystem.Instance, new StateLayout(_fixture.StatePath).JournalDirectory, times: 1);
        StateDirectoryView read = StateDirectoryReader.ReadEvenIfImportUnfinished(_fixture.StatePath, null, checkItemFiles: true, files);

        Assert.Equal(1, files.Retired);
        Assert.Equal(2, read.Attempts);
        Assert.Equal(["t1", "t2"], read.View.Tasks.Keys.Order(StringComparer.Ordinal));
        Assert.Empty(read.Problems);
    }

    [Fact]
    public async Task ASegmentRetiredInEveryAttempt_IsATransientErrorNamingTheDirectory_NotAMissingFile()
    {
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            await service.SaveTaskAsync(StateFixture.Task("t1"), TestContext.Current.CancellationToken);
        }

        var files = new SegmentRetiredFileSystem(PhysicalFileSystem.Instance, new StateLayout(_fixture.StatePath).JournalDirectory, times: int.MaxValue);
        var pauses = new List<TimeSpan>();
        Errors.StateStorageException refused = Assert.Throws<Errors.StateStorageException>(
            () => StateDirectoryReader.ReadDirectory(files, _fixture.StatePath, null, checkItemFiles: true, StateDirectoryReader.DefaultMaxAttempts,
                refuseUnfinished: false, pauses.Add));

        Assert.Equal(StateDirectoryReader.DefaultMaxAttempts, files.Retired);
        Assert.Equal(StateDirectoryReader.DefaultMaxAttempts - 1, pauses.Count);
        Assert.True(refused.IsTransient);
        Assert.Contains($"'{_fixture.StatePath}'", refused.Message, StringComparison.Ordinal);
        Assert.Contains("0000000000.wal", refused.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// A checkpoint on a file system without hard links (and every checkpoint before the link, see
    /// <c>BackupLinkTests</c>) renames <c>state.json</c> to a backup and then its successor into place. A clean-clone CI run saw
    /// the server's thread descheduled between the two for longer than twenty back-to-back attempts took, and the
    /// last attempt reported state.json "missing although backups exist (deleted by hand?)". The attempts now wait
    /// between them (1 ms doubling up to 250 ms), so a stall of half a second (in the reader's own time here) is
    /// waited out.
    /// </summary>
    [Fact]
    public async Task StateJsonMissingWhileACheckpointStallsBetweenItsRenames_IsWaitedOut_NotReportedAsDeleted()
    {
        await CheckpointedTwiceAsync();
        var clock = new ReaderClock();
        var files = new StallBetweenRenamesFileSystem(PhysicalFileSystem.Instance, new StateLayout(_fixture.StatePath).StateFile, clock, TimeSpan.FromMilliseconds(500));

        StateDirectoryView read = StateDirectoryReader.ReadDirectory(files, _fixture.StatePath, null, checkItemFiles: true, StateDirectoryReader.DefaultMaxAttempts,
            refuseUnfinished: false, clock.Pause);

        Assert.True(files.Hidden > 1, $"state.json was seen missing {files.Hidden} time(s); the stall must span several attempts");
        Assert.Empty(read.Problems);
        Assert.Equal("state.json", read.Source);
        Assert.Equal(["t1", "t2"], read.View.Tasks.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task StateJsonRemovedForGood_IsReportedAfterAboutThreeSecondsOfAttempts()
    {
        await CheckpointedTwiceAsync();
        var clock = new ReaderClock();
        var files = new StallBetweenRenamesFileSystem(PhysicalFileSystem.Instance, new StateLayout(_fixture.StatePath).StateFile, clock, TimeSpan.MaxValue);

        StateDirectoryView read = StateDirectoryReader.ReadDirectory(files, _fixture.StatePath, null, checkItemFiles: true, StateDirectoryReader.DefaultMaxAttempts,
            refuseUnfinished: false, clock.Pause);

        Assert.Equal(StateDirectoryReader.DefaultMaxAttempts, read.Attempts);
        Assert.Equal(TimeSpan.FromMilliseconds(1 + 2 + 4 + 8 + 16 + 32 + 64 + 128 + (11 * 250)), clock.Now);
        StateDirectoryProblem problem = Assert.Single(read.Problems);
        Assert.Contains("state.json is missing although backups exist", problem.Problem, StringComparison.Ordinal);
        Assert.Equal(["t1", "t2"], read.View.Tasks.Keys.Order(StringComparer.Ordinal));
    }

    /// <summary>Two tasks and two checkpoints, so <c>state.json</c> has a backup beside it.</summary>
    private async Task CheckpointedTwiceAsync()
    {
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.SaveTaskAsync(StateFixture.Task("t1"), TestContext.Current.CancellationToken);
        await service.SaveSnapshotAsync(TestContext.Current.CancellationToken);
        await service.SaveTaskAsync(StateFixture.Task("t2"), TestContext.Current.CancellationToken);
        await service.SaveSnapshotAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>The reader's time: only its pauses move it.</summary>
    private sealed class ReaderClock
    {
        public TimeSpan Now { get; private set; }

        public void Pause(TimeSpan pause) => Now += pause;
    }

    /// <summary>
    /// <c>state.json</c> is missing from its first read until the reader's clock has moved <c>stall</c> past it, as
    /// when a checkpoint's thread stops between its two renames.
    /// </summary>
    private sealed class StallBetweenRenamesFileSystem(IFileSystem inner, string stateFile, ReaderClock clock, TimeSpan stall) : PassThroughFileSystem(inner)
    {
        private TimeSpan? _since;

        public int Hidden { get; private set; }

        public override bool FileExists(string path) => !IsHidden(path) && Inner.FileExists(path);

        public override IFileHandle Open(string path, FileOpenMode mode)
        {
            if (IsHidden(path))
            {
                Hidden++;
                throw new FileNotFoundException($"Could not find file '{path}'.", path);
            }

            return Inner.Open(path, mode);
        }

        private bool IsHidden(string path)
        {
            if (Path.GetFullPath(path) != stateFile)
            {
                return false;
            }

            _since ??= clock.Now;
            return stall == TimeSpan.MaxValue || clock.Now - _since.Value < stall;
        }
    }

    /// <summary>The first <c>times</c> listings of the journal also name a segment that is gone when it is read.</summary>
    private sealed class SegmentRetiredFileSystem(IFileSystem inner, string journalDirectory, int times) : PassThroughFileSystem(inner)
    {
        // Below any segment the store has written: the oldest, the one a checkpoint retires first.
        private const string JournalRetiredName = "0000000000.wal";

        public int Retired { get; private set; }

        public override IReadOnlyList<string> ListFiles(string directory)
        {
            IReadOnlyList<string> names = Inner.ListFiles(directory);
            if (Retired == times || Path.GetFullPath(directory) != Path.GetFullPath(journalDirectory))
            {
                return names;
            }

            Retired++;
            return [JournalRetiredName, .. names];
        }
    }
}
