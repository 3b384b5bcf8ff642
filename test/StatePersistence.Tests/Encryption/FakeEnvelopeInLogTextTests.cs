using StatePersistence.Encryption;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Encryption;

/// <summary>
/// A client's session log text holding the bytes of an envelope header (<c>SPEV</c>, version, lengths, a codec and a
/// key id of its choosing) in the middle of an append. The key count and the re-encryption searched the whole log file
/// for the magic, so <c>keys list</c> counted a payload under the made-up key (and named it missing), and the
/// re-encryption took the log for one to seal again, at every step. The log is now walked frame by frame and an
/// envelope looked for only where a payload starts.
/// </summary>
public sealed class FakeEnvelopeInLogTextTests : IDisposable
{
    private const string FakeKey = "made-up-key";

    /// <summary>A complete envelope header for AES-256-GCM under <see cref="FakeKey"/>, all ASCII.</summary>
    private const string FakeHeader = "SPEV\u0001\0\u000b\u000baes-256-gcm" + FakeKey;

    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Log => _fixture.File("logs", "session_s1.log");

    [Fact]
    public async Task InAPlainLog_TheFakeHeaderIsNoPayload_AndTheLogNeedsNoResealingInTheClear()
    {
        await using (StatePersistenceService service = await _fixture.OpenAsync())
        {
            await service.SaveSessionAsync(new SessionInfo { Id = "s1", Type = "chat", Status = "active" }, Ct);
            await service.AppendSessionLogAsync("s1", $"pasted binary: {FakeHeader} and more\n", Ct);
            await service.SaveSnapshotAsync(Ct);
        }

        EncryptionKeyUsage usage = EncryptionKeyUsage.Measure(_fixture.StatePath);

        Assert.DoesNotContain(FakeKey, usage.ByKey.Keys);
        Assert.False(ContainerKeyScan.NeedsResealing(PhysicalFileSystem.Instance, Log, activeKeyId: null));
    }

    [Fact]
    public async Task InASealedLogAfterEncryptionIsTurnedOff_OnlyTheRealKeyIsCounted()
    {
        string key = EncryptionKeyFile.Create(_fixture.KeyFilePath).Active.Id;
        await using (StatePersistenceService service = await _fixture.OpenEncryptedAsync(PhysicalFileSystem.Instance))
        {
            await service.SaveSessionAsync(new SessionInfo { Id = "s1", Type = "chat", Status = "active" }, Ct);
            await service.AppendSessionLogAsync("s1", "sealed\n", Ct);
            EncryptionKeyOperations.Disable(_fixture.KeyFilePath);
            StateFixture.ReloadKeyFile(service);
            await service.AppendSessionLogAsync("s1", $"in the clear: {FakeHeader} and more\n", Ct);
            await service.SaveSnapshotAsync(Ct);
        }

        EncryptionKeyUsage usage = EncryptionKeyUsage.Measure(_fixture.StatePath);

        Assert.DoesNotContain(FakeKey, usage.ByKey.Keys);
        Assert.Equal(1, usage.For(key).Payloads - PayloadsOutsideTheLog(key));
        Assert.True(File.ReadAllBytes(Log).AsSpan().IndexOf(System.Text.Encoding.ASCII.GetBytes(FakeHeader)) > 0, "the fake header is in the log's bytes");
    }

    /// <summary>The payloads under <paramref name="key"/> in files other than the log (state.json, the item files, the journal).</summary>
    private long PayloadsOutsideTheLog(string key)
    {
        string aside = Path.Combine(Path.GetDirectoryName(_fixture.StatePath)!, "log-aside");
        File.Move(Log, aside);
        try
        {
            return EncryptionKeyUsage.Measure(_fixture.StatePath).For(key).Payloads;
        }
        finally
        {
            File.Move(aside, Log);
        }
    }
}
