using StatePersistence.Encryption;
using StatePersistence.FileStore.Operations;
using StatePersistence.FileSystem;
using StatePersistence.Testing.Fixtures;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// What a run cut short after its delete commit left live is removed only when the archive's copy is the live one. When
/// that copy does not open here (sealed, and this store lacks its key), the live copy stays; it was then said to differ
/// ("written to since, or its id used again"), which sends an operator looking for a change that never happened.
/// </summary>
public sealed partial class InterruptedArchiveTests
{
    [Fact]
    public async Task Leftovers_whose_archived_copy_does_not_open_here_stay_live_and_are_named_with_why_not_as_differing()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await SeedAsync(ct);
        string archive = await InterruptAfterTheDeleteCommitAsync(ct);
        byte[] sealedArchive = await SealedCopyOfAsync(archive, ct);
        await File.WriteAllBytesAsync(archive, sealedArchive, ct);

        // Opened without the key file: the archive reads back whole, but none of its entries opens.
        await using StatePersistenceService service = await _fixture.OpenAsync();
        TaskArchiveResult result = await TaskArchives.ArchiveAsync(service, Now.AddDays(-1), withLogs: true, ct);

        Assert.Empty(result.LeftLive);
        Assert.Equal(2, result.LeftLiveUnopened.Count);
        Assert.StartsWith("report r1 (", result.LeftLiveUnopened[0], StringComparison.Ordinal);
        Assert.StartsWith("the log of session s1 (", result.LeftLiveUnopened[1], StringComparison.Ordinal);
        Assert.Contains("was written with payload codec", result.LeftLiveUnopened[1], StringComparison.Ordinal);
        Assert.Contains(archive, result.LeftLiveUnopened[1], StringComparison.Ordinal);
        Assert.Equal("what old1 printed\n", await service.ReadSessionLogAsync("s1", ct));
        Assert.NotNull(await service.LoadReportAsync("r1", ct));
        Assert.Equal(sealedArchive, await File.ReadAllBytesAsync(archive, ct));
    }

    /// <summary>
    /// The archive as the background re-encryption seals it under a new key, made in a copy of the directory so that
    /// the directory itself stays in the clear.
    /// </summary>
    private async Task<byte[]> SealedCopyOfAsync(string archive, CancellationToken ct)
    {
        string clear = Path.Combine(_copies.Path, "clear");
        DirectoryCopy.Copy(_fixture.StatePath, clear);
        EncryptionKeyFile.Create(_fixture.KeyFilePath);
        await using (StatePersistenceService sealing = await _fixture.OpenEncryptedAsync(PhysicalFileSystem.Instance))
        {
            await sealing.ReencryptToEndAsync(ct);
        }

        byte[] sealedArchive = await File.ReadAllBytesAsync(archive, ct);
        Directory.Delete(_fixture.StatePath, recursive: true);
        DirectoryCopy.Copy(clear, _fixture.StatePath);
        Assert.NotEqual(await File.ReadAllBytesAsync(archive, ct), sealedArchive);
        return sealedArchive;
    }
}
