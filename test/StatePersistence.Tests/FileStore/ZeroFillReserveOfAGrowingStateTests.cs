using System.Globalization;
using StatePersistence.Errors;
using StatePersistence.FileSystem;
using StatePersistence.Testing.FaultInjection;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// The free space the journal keeps for the next checkpoint before it writes zeros ahead of its records, while the
/// state grows between checkpoints. That checkpoint writes a <c>state.json</c> of the state's size now (the last
/// snapshot's plus what was saved since) and the item files of what was saved since. Found on a 4 MiB tmpfs: a server
/// whose saves had filled the disk with a fresh state got 12 MiB freed (three times its journal), zero-filled 8 MiB of
/// it into two segments at its next save, and its checkpoints then failed with ENOSPC until more was freed.
/// </summary>
public sealed class ZeroFillReserveOfAGrowingStateTests : IDisposable
{
    private const int Preallocation = 64 * 1024;
    private const int Tasks = 10;
    private const int DescriptionLength = 20_000;

    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static bool IsSegment(string path) => path.EndsWith(".wal", StringComparison.Ordinal);

    private string NewestSegment() => Directory.GetFiles(_fixture.File("journal"), "*.wal").Max(StringComparer.Ordinal)!;

    /// <summary>
    /// About 200 KB saved since the last checkpoint (none: a fresh directory) is a state.json of about 200 KB plus
    /// about 200 KB of task files: with 300 KB free beside the zeros, a new segment gets no zeros ahead of its records.
    /// </summary>
    [Fact]
    public async Task ASegmentStartedBetweenCheckpoints_GetsNoZeros_WhenTheyLeaveLessThanTheGrownStateAndItsItemFiles()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var disk = new FaultInjectingFileSystem(PhysicalFileSystem.Instance);
        await using StatePersistenceService service = await _fixture.OpenAsync(o => o.JournalPreallocationBytes = Preallocation, disk);
        for (int i = 0; i < Tasks; i++)
        {
            await service.SaveTaskAsync(StateFixture.Task($"t{i}", description: new string('x', DescriptionLength)), ct);
        }

        disk.ReportedFreeSpace = Preallocation + 32 + 300_000;

        // Two failed appends: the first moves the saves onto the spare prepared at the start, the second onto a
        // segment created now, whose zeros the reserve decides.
        for (int i = 0; i < 2; i++)
        {
            disk.InjectFault(FaultOperations.Write, InjectedError.NoSpace, pathFilter: IsSegment);
            await Assert.ThrowsAsync<StateStorageException>(async () => await service.SaveTaskAsync(StateFixture.Task($"f{i}"), ct));
            await service.SaveTaskAsync(StateFixture.Task($"after{i}"), ct);
        }

        AssertNoZerosAheadInTheNewestSegment();
    }

    /// <summary>
    /// Each item file the checkpoint writes takes whole blocks (4 KiB on ext4, XFS and tmpfs): 50 small tasks saved since
    /// the last checkpoint are about 10 KB of records and of state, and 200 KB of task files on the disk. Found on the
    /// same tmpfs with 20 KB tasks (24 KiB each there): with the state's growth counted, the zeros still left the
    /// checkpoint 0.8 MB short.
    /// </summary>
    [Fact]
    public async Task ASegmentStartedBetweenCheckpoints_GetsNoZeros_WhenTheyLeaveLessThanABlockPerItemFile()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var disk = new FaultInjectingFileSystem(PhysicalFileSystem.Instance);
        await using StatePersistenceService service = await _fixture.OpenAsync(o => o.JournalPreallocationBytes = Preallocation, disk);
        for (int i = 0; i < 50; i++)
        {
            await service.SaveTaskAsync(StateFixture.Task($"t{i}"), ct);
        }

        disk.ReportedFreeSpace = Preallocation + 32 + 100_000;
        for (int i = 0; i < 2; i++)
        {
            disk.InjectFault(FaultOperations.Write, InjectedError.NoSpace, pathFilter: IsSegment);
            await Assert.ThrowsAsync<StateStorageException>(async () => await service.SaveTaskAsync(StateFixture.Task($"f{i}"), ct));
            await service.SaveTaskAsync(StateFixture.Task($"after{i}"), ct);
        }

        AssertNoZerosAheadInTheNewestSegment();
    }

    private void AssertNoZerosAheadInTheNewestSegment()
    {
        string newest = NewestSegment();
        long length = new FileInfo(newest).Length;
        Assert.True(length < Preallocation, string.Create(CultureInfo.InvariantCulture,
            $"{newest} holds {length} bytes: zeros went ahead of its records into the space the next checkpoint needs"));
    }
}
