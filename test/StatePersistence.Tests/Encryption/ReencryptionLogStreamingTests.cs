using System.Text;
using StatePersistence.Encryption;
using StatePersistence.FileStore;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Storage;
using StatePersistence.Testing;
using StatePersistence.Testing.FaultInjection;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Encryption;

/// <summary>
/// The background re-encryption rewrites a session log a frame at a time (each append opened and sealed anew into a
/// temp file, fsynced, renamed over the log, the directory fsynced): a log of gigabytes needs no buffer of its size.
/// Before, the log was read whole and the new log built whole beside it (twice its size in memory). The text reads
/// back byte for byte, under the new key only.
/// </summary>
public sealed class ReencryptionLogStreamingTests : IDisposable
{
    /// <summary>The largest read the rewrite may ask of the log: larger than any append here, smaller than the log.</summary>
    private const int ReadLimit = 1 << 20;

    private readonly StateFixture _fixture = new();

    public ReencryptionLogStreamingTests()
    {
        KeyFile = Path.Combine(Path.GetDirectoryName(_fixture.StatePath)!, "keys.json");
    }

    private string KeyFile { get; }

    private string Log => _fixture.File("logs", "session_s1.log");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task AMultiFrameLog_IsSealedAgainAFrameAtATime_AndReadsBackByteForByte_UnderTheNewKeyOnly()
    {
        string oldKey = EncryptionKeyFile.Create(KeyFile).Active.Id;
        var disk = new BoundedReadFileSystem(PhysicalFileSystem.Instance, p => p.EndsWith("/logs/session_s1.log", StringComparison.Ordinal), ReadLimit);
        string text;
        await using (StatePersistenceService service = await OpenAsync(disk))
        {
            text = await WriteLogAsync(service);
            Assert.True(new FileInfo(Log).Length > 4 * ReadLimit, "the log must be larger than the read limit");
            string newKey = EncryptionKeyOperations.Rotate(KeyFile).Id;
            // Read the key file now, rather than at the next check (once a second of the system's time).
            StateFixture.ReloadKeyFile(service);

            Assert.True(await service.ReencryptToEndAsync(Ct) >= 1);

            Assert.True(disk.LargestRead > 0, "the log was read through the bounded file system");
            Assert.Equal(0, EncryptionKeyUsage.Measure(_fixture.StatePath).For(oldKey).Files);
            Assert.True(EncryptionKeyUsage.Measure(_fixture.StatePath).For(newKey).Files > 0);
        }

        Assert.Empty(Directory.GetFiles(_fixture.File("logs"), "*.tmp"));
        await using StatePersistenceService reopened = await OpenAsync(PhysicalFileSystem.Instance);
        Assert.Equal(text, await reopened.ReadSessionLogAsync("s1", Ct));
    }

    [Fact]
    public async Task AWriteFailingHalfwayThroughTheRewrite_LeavesTheLogAsItWas_AndNoTempFile_AndTheNextStepRewritesIt()
    {
        string oldKey = EncryptionKeyFile.Create(KeyFile).Active.Id;
        var disk = new FaultInjectingFileSystem(PhysicalFileSystem.Instance);
        await using StatePersistenceService service = await OpenAsync(disk);
        string text = await WriteLogAsync(service);
        byte[] before = await File.ReadAllBytesAsync(Log, Ct);
        EncryptionKeyOperations.Rotate(KeyFile);
        StateFixture.ReloadKeyFile(service);
        // The temp file's writes go through a 64 KiB buffer: the 20th is well inside a 9 MB log.
        disk.InjectFault(FaultOperations.Write, InjectedError.IOError, nthCall: 20,
            pathFilter: p => p.StartsWith(Log, StringComparison.Ordinal) && StateLayout.IsTempFile(Path.GetFileName(p)));

        IOException failed = await Assert.ThrowsAsync<IOException>(() => service.ReencryptToEndAsync(Ct));

        Assert.Contains("Input/output error", failed.Message, StringComparison.Ordinal);
        Assert.Equal(1, disk.FaultsInjected);
        Assert.Equal(before, await File.ReadAllBytesAsync(Log, Ct));
        Assert.Empty(Directory.GetFiles(_fixture.File("logs"), "*.tmp"));

        await service.ReencryptToEndAsync(Ct);

        Assert.Equal(0, EncryptionKeyUsage.Measure(_fixture.StatePath).For(oldKey).Files);
        Assert.Equal(text, await service.ReadSessionLogAsync("s1", Ct));
    }

    private Task<StatePersistenceService> OpenAsync(IFileSystem fileSystem) => _fixture.OpenWithCodecAsync(fileSystem, o =>
    {
        o.Encryption.KeyFile = KeyFile;
        o.ScrubInterval = TimeSpan.Zero;
        o.AutosaveInterval = TimeSpan.Zero;
    });

    /// <summary>Session s1 with a log of 60 appends of 1 byte to 300 KB (NULs, non-ASCII, line ends); returns its text.</summary>
    private static async Task<string> WriteLogAsync(StatePersistenceService service)
    {
        var all = new StringBuilder();
        await service.SaveSessionAsync(new SessionInfo { Id = "s1", Type = "chat", Status = "active" }, Ct);
        for (int i = 0; i < 60; i++)
        {
            string append = string.Create(1 + (i * 104_729 % 300_000), i, (span, n) =>
            {
                for (int c = 0; c < span.Length; c++)
                {
                    span[c] = ((c + n) % 97) switch { 0 => '\0', 1 => 'é', 2 => '\n', int k => (char)('a' + (k % 26)) };
                }
            });
            await service.AppendSessionLogAsync("s1", append, Ct);
            all.Append(append);
        }

        return all.ToString();
    }
}
