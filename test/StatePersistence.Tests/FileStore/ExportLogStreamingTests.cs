using System.Formats.Tar;
using System.IO.Compression;
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
/// was written). The copy is byte for byte up to the last whole append, and reads back through import, which checks and
/// writes each log as it reads it from the archive, in the memory of its largest append.
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

        StateArchiveResult exported = StateArchive.Export(_fixture.StatePath, Archive, null, null, TestContext.Current.CancellationToken);
        StateArchive.Import(Archive, Restored, null, TestContext.Current.CancellationToken);

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

        StateArchive.Export(_fixture.StatePath, Archive, null, null, disk, TestContext.Current.CancellationToken);
        StateArchive.Import(Archive, Restored, null, TestContext.Current.CancellationToken);

        Assert.True(disk.LargestRead > 0, "the log was read through the bounded file system");
        Assert.Equal(text, await ReadRestoredLogAsync());
    }

    [Fact]
    public async Task Import_ChecksAndWritesALog_AsItReadsIt_NeverHoldingItWhole()
    {
        string text = await WriteLogAsync();
        long logBytes = new FileInfo(_fixture.File("logs", "session_s1.log")).Length;
        StateArchive.Export(_fixture.StatePath, Archive, null, null, TestContext.Current.CancellationToken);

        // Import runs on this thread: what it allocates is counted here. Before, the log alone was allocated five
        // times over (its buffer growing, then copied out, for the check and again for the write).
        long before = GC.GetAllocatedBytesForCurrentThread();
        StateArchive.Import(Archive, Restored, null, TestContext.Current.CancellationToken);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(allocated < logBytes / 2, $"import allocated {allocated} bytes for a log of {logBytes}");
        Assert.Equal(text, await ReadRestoredLogAsync());
    }

    [Theory]
    [InlineData("a flipped bit in an append", 0)]
    [InlineData("an append whose length runs past the log", 1)]
    [InlineData("a last append cut short", 2)]
    public async Task Import_OfALogEntryDamagedAtAnAppend_IsRefusedNamingItsOffset_AndWritesNothing(string damage, int kind)
    {
        await WriteLogAsync();
        StateArchive.Export(_fixture.StatePath, Archive, null, null, TestContext.Current.CancellationToken);
        string damaged = _fixture.File("..", "damaged.tar.gz");
        long at = 0;
        await RewriteLogEntryAsync(Archive, damaged, log =>
        {
            // The appends' offsets: the file header, then each frame's header, text and trailer.
            var offsets = new List<long>();
            for (long offset = SessionLogFormat.FileHeaderSize; offset < log.Length; offset += SessionLogFormat.FrameAt(log, offset))
            {
                offsets.Add(offset);
            }

            at = kind == 2 ? offsets[^1] : offsets[offsets.Count / 2];
            switch (kind)
            {
                case 0:
                    log[at + SessionLogFormat.FrameHeaderSize + 3] ^= 0x10;
                    return log;
                case 1:
                    System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(log.AsSpan((int)at + 4), log.Length);
                    return log;
                default:
                    return log[..^3];
            }
        });

        var refused = Assert.Throws<InvalidDataException>(() => StateArchive.Import(damaged, Restored, null, TestContext.Current.CancellationToken));

        Assert.Contains($"its entry 'logs/session_s1.log' is damaged: the append at byte {at} fails its checks", refused.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Restored), damage);
    }

    [Fact]
    public async Task Import_OfAnArchiveCutInsideALog_IsRefusedAsNotReadable_AndWritesNothing()
    {
        await WriteLogAsync();
        StateArchive.Export(_fixture.StatePath, Archive, null, null, TestContext.Current.CancellationToken);
        string cut = _fixture.File("..", "cut.tar.gz");
        // The log is the archive's largest entry by far: cut at half of the uncompressed archive, the tar breaks off
        // inside it.
        using (var whole = new MemoryStream())
        {
            await using (var gzip = new GZipStream(File.OpenRead(Archive), CompressionMode.Decompress))
            {
                await gzip.CopyToAsync(whole, Ct);
            }

            await using FileStream file = File.Create(cut);
            await using var compress = new GZipStream(file, CompressionLevel.Fastest);
            await compress.WriteAsync(whole.ToArray().AsMemory(0, (int)(whole.Length / 2)), Ct);
        }

        var refused = Assert.Throws<InvalidDataException>(() => StateArchive.Import(cut, Restored, null, TestContext.Current.CancellationToken));

        Assert.Contains($"The archive '{Path.GetFullPath(cut)}' is not a readable .tar.gz", refused.Message, StringComparison.Ordinal);
        Assert.Contains("'logs/session_s1.log'", refused.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Restored));
    }

    /// <summary>Copies <paramref name="archive"/> to <paramref name="target"/> with s1's log entry changed by <paramref name="change"/>.</summary>
    private static async Task RewriteLogEntryAsync(string archive, string target, Func<byte[], byte[]> change)
    {
        await using FileStream source = File.OpenRead(archive);
        await using var gunzip = new GZipStream(source, CompressionMode.Decompress);
        await using var reader = new TarReader(gunzip);
        await using FileStream file = File.Create(target);
        await using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        await using var writer = new TarWriter(gzip);
        while (await reader.GetNextEntryAsync(copyData: true, Ct) is { } entry)
        {
            if (entry.Name == "logs/session_s1.log")
            {
                using var content = new MemoryStream();
                await entry.DataStream!.CopyToAsync(content, Ct);
                entry.DataStream = new MemoryStream(change(content.ToArray()));
            }

            await writer.WriteEntryAsync(entry, Ct);
        }
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
