using StatePersistence.FileStore;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore.Upgrades;

/// <summary>
/// An encrypted directory of the first encrypting build (205fb54: snapshots sealed whole in envelope version 1,
/// session logs of version 3), left by a kill -9 with changes after its last snapshot, opened with that build's key
/// file: this build serves what that server answered, and its first checkpoint seals the snapshot segmented (envelope
/// version 2). Fixture, key and expected answers made by the real build (see Fixtures/Upgrades/README.md).
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class EncryptedEnvelopeV1UpgradeTests : IDisposable
{
    private const string Fixture = "encrypted-envelope-v1-killed";
    private readonly StateFixture _fixture = new();
    private readonly string _keyFile;

    public EncryptedEnvelopeV1UpgradeTests()
    {
        UpgradeFixtures.CopyTo(Fixture, _fixture.StatePath);
        // Beside the state directory, never inside it (refused), and 0600 as every key file must be.
        _keyFile = Path.Combine(Path.GetDirectoryName(_fixture.StatePath)!, "keys.json");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Fixtures", "Upgrades", Fixture + ".key.json"), _keyFile);
        File.SetUnixFileMode(_keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    public void Dispose() => _fixture.Dispose();

    /// <summary>Through <see cref="FileStatePersistence.Create"/>, as the server opens it: the key file turns encryption on.</summary>
    private async Task<StatePersistenceService> OpenAsync()
    {
        StatePersistenceService service = FileStatePersistence.Create(_fixture.Options(o => o.Encryption.KeyFile = _keyFile), timeProvider: _fixture.Time);
        await service.StartAsync(TestContext.Current.CancellationToken);
        return service;
    }

    [Fact]
    public async Task EverythingTheOldServerAnswered_IsServed_AndTheNextCheckpointSealsTheSnapshotSegmented()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using (StatePersistenceService service = await OpenAsync())
        {
            await UpgradeFixtures.AssertServesTheOldAnswersAsync(service, Fixture, ct);
            Assert.Empty(service.LastRecovery!.Lost);
            Assert.Empty(service.LastRecovery.Quarantined);
            Assert.Equal(StateHealthStatus.Healthy, service.CheckHealth().Status);
            await service.SaveSnapshotAsync(ct);
        }

        byte[] snapshot = File.ReadAllBytes(_fixture.File("state.json"));
        Assert.Equal("SPEV"u8.ToArray(), snapshot[..4]);
        Assert.Equal(2, snapshot[4]);
        Assert.Empty(Directory.GetFiles(_fixture.StatePath, "*.corrupt.*", SearchOption.AllDirectories));

        await using StatePersistenceService restarted = await OpenAsync();
        await UpgradeFixtures.AssertServesTheOldAnswersAsync(restarted, Fixture, ct);
    }
}
