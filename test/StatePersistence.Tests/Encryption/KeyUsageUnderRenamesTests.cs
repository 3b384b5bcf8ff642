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
        CancellationToken ct = TestContext.Current.CancellationToken;
        string keyFile = _keys.Combine("keys.json");
        string key = EncryptionKeyFile.Create(keyFile).Active.Id;
        await using (StatePersistenceService service = FileStatePersistence.Create(_fixture.Options(o =>
        {
            o.Encryption.KeyFile = keyFile;
            o.ScrubInterval = TimeSpan.Zero;
        }), timeProvider: _fixture.Time))
        {
            await service.StartAsync(ct);
            await service.SaveTaskAsync(StateFixture.Task("t1"), ct);
            await service.SaveSnapshotAsync(ct);
        }

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
}
