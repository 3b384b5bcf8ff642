using System.Text;
using StatePersistence.FileStore;
using StatePersistence.FileStore.Operations;
using StatePersistence.FileStore.SessionLog;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Testing;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// <c>statectl export</c> copies each session log into the archive as it reads it, a frame or a block at a time: a log
/// of gigabytes needs no buffer of its size (before, every log was read whole, all of them at once, before the first
/// was written). The copy is byte for byte up to the last whole append, and reads back through import.
/// </summary>
public sealed class ExportLogStreamingTests : IDisposable
{
    /// <summary>The largest read a streaming export may ask of a log: larger than any append here, smaller than the log.</summary>
    private const int ReadLimit = 1 << 20;

    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Archive => _fixture.File("..", "export.tar.gz");

    private string Restored => _fixture.File("..", "restored");

    [Fact]
    public async Task AMultiFrameLog_RoundTripsThroughExportAndImport_ByteForByte_ItsTornTailLeftOut()
    {
        string text = await WriteLogAsync();
        string log = _fixture.File("logs", "session_s1.log");
        byte[] acknowledged = await File.ReadAllBytesAsync(log, Ct);
        // An append a crash (or a running server) left half-written: no acknowledged text, so not in the export.
        await using (FileStream stream = new(log, FileMode.Append))
        {
            stream.Write(SessionLogFormat.Frame("half-written"u8, null).AsSpan(0, 15));
        }

        StateArchiveResult exported = StateArchive.Export(_fixture.StatePath, Archive);
        StateArchive.Import(Archive, Restored);

        Assert.Equal(1, exported.Logs);
        Assert.Equal(acknowledged, await File.ReadAllBytesAsync(Path.Combine(Restored, "logs", "session_s1.log"), Ct));
        Assert.Equal(text, await ReadRestoredLogAsync());
    }

    [Fact]
    public async Task Export_ReadsALog_AFrameOrABlockAtATime_NeverWhole()
    {
        string text = await WriteLogAsync();
        string logs = _fixture.File("logs");
        Assert.True(new FileInfo(Path.Combine(logs, "session_s1.log")).Length > 4 * ReadLimit, "the log must be larger than the read limit");
        var disk = new BoundedReadFileSystem(PhysicalFileSystem.Instance, p => p.StartsWith(logs, StringComparison.Ordinal), ReadLimit);

        StateArchive.Export(_fixture.StatePath, Archive, null, null, disk);
        StateArchive.Import(Archive, Restored);

        Assert.True(disk.LargestRead > 0, "the log was read through the bounded file system");
        Assert.Equal(text, await ReadRestoredLogAsync());
    }

    /// <summary>Session s1 with a log of 60 appends of 1 byte to 300 KB (NULs, non-ASCII, line ends); returns its text.</summary>
    private async Task<string> WriteLogAsync()
    {
        var all = new StringBuilder();
        await using StatePersistenceService service = await _fixture.OpenAsync();
        await service.SaveSessionAsync(new SessionInfo { Id = "s1", Type = "chat", Status = "active" }, Ct);
        for (int i = 0; i < 60; i++)
        {
            int length = 1 + (i * 104_729 % 300_000);
            string append = string.Create(length, i, (span, n) =>
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

    private async Task<string?> ReadRestoredLogAsync()
    {
        var options = new StatePersistenceOptions { StatePath = Restored };
        await using var restored = new StatePersistenceService(options, new FileStateStore(options, timeProvider: _fixture.Time));
        await restored.StartAsync(Ct);
        return await restored.ReadSessionLogAsync("s1", Ct);
    }
}
