using StatePersistence.Encryption;
using StatePersistence.FileStore;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Encryption;

/// <summary>
/// <c>keys list</c> and <c>keys retire --remove</c> count the payloads under each key beside a running server, whose
/// backup rotation renames <c>state.json</c> (sealed with whatever key wrote it) to <c>state.backup.&lt;time&gt;.json</c>. A
/// scan that lists the old name and reads after the rename misses that file under both names: it counted 0 under a
/// key a backup still held (a clean-clone CI run caught the backup right after <c>keys list</c> said 0). Here a
/// thread renames the sealed snapshot back and forth while the count is taken again and again: every count must be
/// the whole one.
/// </summary>
public sealed class KeyUsageUnderRenamesTests : IDisposable
{
    private readonly StateFixture _fixture = new();
    private readonly TempDirectory _keys = new();

    public void Dispose()
    {
        _fixture.Dispose();
        _keys.Dispose();
    }

    [Fact]
    public async Task A_file_renamed_during_the_count_is_still_counted()
    {
        string key = await SealedStateAsync();

        // Only the snapshot and the task file hold payloads: the journal was folded in and deleted at the close.
        long whole = EncryptionKeyUsage.Measure(_fixture.StatePath).For(key).Payloads;
        Assert.True(whole >= 2, $"{whole} payloads");

        string snapshot = _fixture.File("state.json");
        string backup = _fixture.File("state.backup.20240101T000000-0000000Z.json");
        using var stop = new CancellationTokenSource();
        Task renamer = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                File.Move(snapshot, backup);
                await Task.Delay(1, CancellationToken.None);
                File.Move(backup, snapshot);
                await Task.Delay(3, CancellationToken.None);
            }
        }, CancellationToken.None);

        var counts = new List<long>();
        try
        {
            for (int i = 0; i < 300; i++)
            {
                counts.Add(EncryptionKeyUsage.Measure(_fixture.StatePath).For(key).Payloads);
            }
        }
        finally
        {
            await stop.CancelAsync();
            await renamer;
        }

        Assert.Equal([], counts.Where(c => c != whole).Distinct());
    }

    /// <summary>
    /// The backup rotation itself: <c>state.json</c> renamed to a new <c>state.backup.&lt;time&gt;.json</c>, then a new
    /// snapshot renamed into its place. Nothing goes missing, so a scan that listed the old name and read it after the
    /// rotation found the new snapshot, and the sealed one under its new name was counted nowhere: what CI caught (the
    /// re-encryption's checkpoint put a snapshot in the clear in place while the old one, under the old key, became a
    /// backup). Here every other new snapshot is in the clear, and the sealed files only ever grow in number: every
    /// count must lie between the sealed files there were when it began and those there were when it ended.
    /// </summary>
    [Fact]
    public async Task A_snapshot_rotated_into_a_new_backup_during_the_count_is_still_counted()
    {
        string key = await SealedStateAsync();
        string snapshot = _fixture.File("state.json");
        byte[] sealedSnapshot = File.ReadAllBytes(snapshot);
        long whole = EncryptionKeyUsage.Measure(_fixture.StatePath).For(key).Payloads;
        File.Move(snapshot, _keys.Combine("aside.json"));
        long perSnapshot = whole - EncryptionKeyUsage.Measure(_fixture.StatePath).For(key).Payloads;
        File.Move(_keys.Combine("aside.json"), snapshot);
        Assert.True(perSnapshot >= 1, $"{perSnapshot} payloads in state.json");

        // In lockstep, so every count meets one rotation at most (taken again once, it then ends): each round the
        // rotator waits for a count to start, lets a random sliver of it run, and rotates once.
        long sealedSnapshots = 1;
        var first = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
        using var counting = new SemaphoreSlim(0);
        using var rotated = new SemaphoreSlim(0);
        using var stop = new CancellationTokenSource();
        Task rotator = Task.Run(() =>
        {
            for (int i = 0; counting.Wait(Timeout.Infinite, stop.Token); i++)
            {
                Thread.SpinWait(Random.Shared.Next(0, 200_000));
                File.Move(snapshot, _fixture.File($"state.backup.{StateLayout.Timestamp(first.AddSeconds(i))}.json"));
                bool sealedOne = i % 2 == 1;
                File.WriteAllBytes(snapshot + ".tmp", sealedOne ? sealedSnapshot : """{"version":"1.0.0","tasks":[]}"""u8.ToArray());
                File.Move(snapshot + ".tmp", snapshot, overwrite: true);
                if (sealedOne)
                {
                    Interlocked.Increment(ref sealedSnapshots);
                }

                rotated.Release();
            }
        }, CancellationToken.None);

        var wrong = new List<string>();
        try
        {
            for (int round = 0; round < Rounds; round++)
            {
                long before = Interlocked.Read(ref sealedSnapshots);
                counting.Release();
                long counted = EncryptionKeyUsage.Measure(_fixture.StatePath).For(key).Payloads;
                Assert.True(await rotated.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken), "the rotator stopped");
                long after = Interlocked.Read(ref sealedSnapshots);
                long least = whole - perSnapshot + (before * perSnapshot);
                long most = whole - perSnapshot + (after * perSnapshot);
                if (counted < least || counted > most)
                {
                    wrong.Add($"{counted} (between {least} and {most})");
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => rotator);
        }

        Assert.Equal([], wrong);
    }

    private const int Rounds = 100;

    /// <summary>A state directory with one task, its snapshot taken, every payload sealed with the key it returns.</summary>
    private Task<string> SealedStateAsync() => _fixture.WriteSealedStateAsync(_keys.Combine("keys.json"));
}
