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
        Errors.StateStorageException refused = Assert.Throws<Errors.StateStorageException>(
            () => StateDirectoryReader.ReadEvenIfImportUnfinished(_fixture.StatePath, null, checkItemFiles: true, files));

        Assert.Equal(StateDirectoryReader.DefaultMaxAttempts, files.Retired);
        Assert.True(refused.IsTransient);
        Assert.Contains($"'{_fixture.StatePath}'", refused.Message, StringComparison.Ordinal);
        Assert.Contains("0000000000.wal", refused.Message, StringComparison.Ordinal);
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
