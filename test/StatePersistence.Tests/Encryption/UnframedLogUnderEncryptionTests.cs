using System.Text;
using StatePersistence.Encryption;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Encryption;

/// <summary>
/// A version 1 session log (plain text, no file header: written by a build from before framed logs, and never appended
/// to since) when encryption is turned on over the directory. The store reads it as it is; the background
/// re-encryption took it for nothing to seal (no envelope, not JSON) and <c>keys list</c> for a file holding nothing
/// in the clear, so its text stayed on disk in the clear for good while the count said no file was.
/// </summary>
public sealed class UnframedLogUnderEncryptionTests : IDisposable
{
    private const string LegacyText = "HERON-legacy-log-line-4c1e\nsecond line\n";

    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Log => _fixture.File("logs", "session_s1.log");

    [Fact]
    public async Task TurningEncryptionOn_SealsAnUnframedLog_AndKeysListCountsItInTheClearUntilThen()
    {
        await using (StatePersistenceService service = await _fixture.OpenAsync(o => o.ScrubInterval = TimeSpan.Zero))
        {
            Assert.True(await service.CreateSessionAsync(new SessionInfo { Id = "s1", Status = "done" }, Ct));
            await service.SaveSnapshotAsync(Ct);
        }

        // As a build from before framing left it.
        File.WriteAllText(Log, LegacyText);
        Assert.True(EncryptionKeyUsage.Measure(_fixture.StatePath).ClearFiles >= 1);
        long clearBefore = EncryptionKeyUsage.Measure(_fixture.StatePath).ClearFiles;
        File.Move(Log, Log + ".away");
        long clearWithoutTheLog = EncryptionKeyUsage.Measure(_fixture.StatePath).ClearFiles;
        File.Move(Log + ".away", Log);
        Assert.Equal(clearWithoutTheLog + 1, clearBefore);

        string key = EncryptionKeyFile.Create(_fixture.KeyFilePath).Active.Id;
        await using (StatePersistenceService service = await _fixture.OpenEncryptedAsync(PhysicalFileSystem.Instance))
        {
            await service.ReencryptToEndAsync(Ct);

            Assert.Equal(-1, File.ReadAllBytes(Log).AsSpan().IndexOf(Encoding.UTF8.GetBytes("HERON-legacy")));
            Assert.Equal(LegacyText, await service.ReadSessionLogAsync("s1", Ct));
        }

        EncryptionKeyUsage usage = EncryptionKeyUsage.Measure(_fixture.StatePath);
        Assert.Equal(0, usage.ClearFiles);
        Assert.True(usage.For(key).Payloads > 0);
    }
}
