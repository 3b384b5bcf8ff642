using StatePersistence.Commit;
using StatePersistence.Encryption;
using StatePersistence.FileStore;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Retention;
using StatePersistence.Storage;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Encryption;

/// <summary>
/// The retention's rotation of a session log runs beside the background re-encryption (not under the checkpoint
/// lock). A step used to list the logs folder and then look at each file on its own: a rotation in between moved the
/// live log, still under the old key, to a part the listing lacked, the live log's name was gone ("deleted meanwhile"),
/// and the step counted nothing left, so the run ended with the part under the old key for good. Now each session's
/// files are looked at under its log's gate, the folder listed again for a log rotated since the listing. Here the
/// rotation is made at the worst moment: right after the step's listing of <c>logs/</c>.
/// </summary>
public sealed class ReencryptionBesideLogRotationTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task ALogRotatedRightAfterTheStepListedTheFolder_IsStillSealedAgainByThatStep()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string keyFile = _fixture.KeyFilePath;
        string oldKey = EncryptionKeyFile.Create(keyFile).Active.Id;
        var disk = new GatedFileSystem(PhysicalFileSystem.Instance);
        await using StatePersistenceService service = await _fixture.OpenEncryptedAsync(disk);
        await service.SaveSessionAsync(new SessionInfo { Id = "s1", Type = "chat", Status = "active" }, ct);
        await service.AppendSessionLogAsync("s1", "written under the old key\n", ct);

        string newKey = EncryptionKeyOperations.Rotate(keyFile).Id;
        StateFixture.ReloadKeyFile(service);
        var store = (IReencryptingStore)service.Store;
        string logs = _fixture.File("logs");
        disk.ArmAfterNextListing(logs, () => ((IRetentionStore)store).CapSessionLogAsync("s1", maxBytes: 1, rotatedParts: 3, Durability.Full, ct).AsTask().GetAwaiter().GetResult());

        await store.ReencryptStepAsync(service.Durable, 32, ct);

        Assert.True(disk.ListingActionRan, "the rotation was not made after the step's listing");
        string part = Path.Combine(logs, "session_s1.log.1");
        Assert.True(File.Exists(part), "the rotation made no part");
        string sealedWith = System.Text.Encoding.ASCII.GetString(await File.ReadAllBytesAsync(part, ct));
        Assert.DoesNotContain(oldKey, sealedWith, StringComparison.Ordinal);
        Assert.Contains(newKey, sealedWith, StringComparison.Ordinal);
        Assert.Equal("written under the old key\n", await service.ReadSessionLogAsync("s1", ct));
    }
}
