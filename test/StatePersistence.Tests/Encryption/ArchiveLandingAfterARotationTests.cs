using StatePersistence.Encryption;
using StatePersistence.FileStore.Operations;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Encryption;

/// <summary>
/// A task archive is sealed entry by entry and then written whole, which can take long enough for a key rotation to
/// come in between. The background re-encryption running meanwhile finds nothing under the old key (the archive is
/// still a temp file) and finishes; the archive then lands under the old key. Before, it stayed so until the next
/// rotation (<c>keys list</c> never reached 0, so the old key could never be removed); now the re-encryption looks
/// again when such a write lands. Here a gate holds the archive's write while the key is rotated and the
/// re-encryption runs to its end.
/// </summary>
public sealed class ArchiveLandingAfterARotationTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task AnArchiveSealedBeforeARotation_LandingAfterTheReencryptionFinished_IsSealedAgain()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string keyFile = _fixture.KeyFilePath;
        string oldKey = EncryptionKeyFile.Create(keyFile).Active.Id;
        var disk = new GatedFileSystem(PhysicalFileSystem.Instance);
        await using StatePersistenceService service = await _fixture.OpenEncryptedAsync(disk);
        DateTimeOffset now = _fixture.Time.GetUtcNow();
        await service.SaveTaskAsync(new AgentTask { Id = "old", Description = "archived", Status = TaskStatuses.Failed, UpdatedAt = now.AddDays(-10) }, ct);

        string archives = TaskArchives.DirectoryOf(_fixture.StatePath);
        disk.ArmNextCreate(path => path.StartsWith(archives + Path.DirectorySeparatorChar, StringComparison.Ordinal));
        Task<TaskArchiveResult> archiving = Task.Run(() => TaskArchives.ArchiveAsync(service, now, cancellationToken: ct), ct);
        Assert.True(disk.Entered.Wait(TimeSpan.FromSeconds(30), ct), "the archive's write did not start");

        EncryptionKeyOperations.Rotate(keyFile);
        StateFixture.ReloadKeyFile(service);
        await service.ReencryptToEndAsync(ct);
        disk.Release();
        string archive = (await archiving).Archive!;
        Assert.True(EncryptionKeyUsage.Measure(_fixture.StatePath).For(oldKey).Payloads > 0, "the archive did not land under the old key");

        await service.ReencryptToEndAsync(ct);

        Assert.Equal(0, EncryptionKeyUsage.Measure(_fixture.StatePath).For(oldKey).Payloads);
        Assert.True(File.Exists(archive));
    }
}
