using StatePersistence.FileStore;
using StatePersistence.FileStore.Operations;
using StatePersistence.FileStore.SessionLog;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Serialization;
using StatePersistence.Testing;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// Damage between valid appends of a session log (a flipped byte in an earlier frame), and any damage in a rotated
/// part (<c>.log.N</c>), was copied into the export as it was, exit 0 and no warning; the import of that export was then
/// refused whole ("the append at byte N fails its checks"), so the operator's backup could not be restored. The export
/// now copies each log's file header and its valid appends only (they are self-contained: an envelope is bound to its
/// session, not to its place in the file), leaves each damaged range out, and names them, one problem per log: the
/// file, the session, the bytes and why. A healthy log is still copied byte for byte.
/// </summary>
public sealed class ExportOfDamageBetweenAppendsTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Archive => _fixture.File("..", "export.tar.gz");

    private string Restored => _fixture.File("..", "restored");

    private string Log => _fixture.File("logs", "session_s1.log");

    private string Part => _fixture.File("logs", "session_s1.log.1");

    [Fact]
    public async Task DamageBetweenValidAppends_OfTheLiveLog_IsLeftOut_AndNamed_AndTheExportImports_WithTheValidAppends()
    {
        await WriteLogAsync(null, "one\n", "two\n", "three\n");
        byte[] bytes = await File.ReadAllBytesAsync(Log, Ct);
        List<(long Offset, int Size)> frames = DamagedLogAppends.Frames(bytes);
        bytes[frames[1].Offset + SessionLogFormat.FrameHeaderSize + 1] ^= 0x40; // inside the text of "two\n"
        await File.WriteAllBytesAsync(Log, bytes, Ct);

        StateArchiveResult exported = StateArchive.Export(_fixture.StatePath, Archive, null, null, TestContext.Current.CancellationToken);
        StateArchive.Import(Archive, Restored, null, TestContext.Current.CancellationToken);

        StateDirectoryProblem problem = Assert.Single(exported.Problems);
        Assert.Equal(Log, problem.Path);
        Assert.Equal("s1", problem.Id);
        Assert.Contains($"bytes {frames[1].Offset}..{frames[1].Offset + frames[1].Size - 1} fail their checks", problem.Problem, StringComparison.Ordinal);
        Assert.Contains("not in the export", problem.Problem, StringComparison.Ordinal);
        Assert.Equal(Concat(bytes, (0, SessionLogFormat.FileHeaderSize), frames[0], frames[2]), await File.ReadAllBytesAsync(RestoredFile("session_s1.log"), Ct));
        Assert.Equal("one\nthree\n", await ReadRestoredLogAsync(null));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Log, Ct));
    }

    [Fact]
    public async Task DamageBetweenValidAppends_AndADamagedLastAppend_AreOneProblem_NamingBoth()
    {
        await WriteLogAsync(null, "one\n", "two\n", "three\n", "four\n");
        byte[] bytes = await File.ReadAllBytesAsync(Log, Ct);
        List<(long Offset, int Size)> frames = DamagedLogAppends.Frames(bytes);
        bytes[frames[1].Offset + SessionLogFormat.FrameHeaderSize + 1] ^= 0x40;
        bytes[frames[3].Offset + SessionLogFormat.FrameHeaderSize + 1] ^= 0x40;
        await File.WriteAllBytesAsync(Log, bytes, Ct);

        StateArchiveResult exported = StateArchive.Export(_fixture.StatePath, Archive, null, null, TestContext.Current.CancellationToken);
        StateArchive.Import(Archive, Restored, null, TestContext.Current.CancellationToken);

        StateDirectoryProblem problem = Assert.Single(exported.Problems);
        Assert.Equal(Log, problem.Path);
        Assert.Contains($"bytes {frames[1].Offset}..{frames[1].Offset + frames[1].Size - 1} fail their checks", problem.Problem, StringComparison.Ordinal);
        Assert.Contains($"the last append (bytes {frames[3].Offset}..{bytes.Length - 1}) is whole but fails its checksum", problem.Problem, StringComparison.Ordinal);
        Assert.Equal("one\nthree\n", await ReadRestoredLogAsync(null));
    }

    [Fact]
    public async Task ADamagedRotatedPart_IsCopiedWithItsValidAppendsOnly_AndNamed_AndTheExportImports()
    {
        await WriteLogWithAPartAsync(null);
        byte[] part = await File.ReadAllBytesAsync(Part, Ct);
        List<(long Offset, int Size)> frames = DamagedLogAppends.Frames(part);
        part[frames[1].Offset + SessionLogFormat.FrameHeaderSize + 1] ^= 0x40;
        await File.WriteAllBytesAsync(Part, part, Ct);
        byte[] live = await File.ReadAllBytesAsync(Log, Ct);

        StateArchiveResult exported = StateArchive.Export(_fixture.StatePath, Archive, null, null, TestContext.Current.CancellationToken);
        StateArchive.Import(Archive, Restored, null, TestContext.Current.CancellationToken);

        StateDirectoryProblem problem = Assert.Single(exported.Problems);
        Assert.Equal(Part, problem.Path);
        Assert.Equal("s1", problem.Id);
        Assert.Contains($"bytes {frames[1].Offset}..{frames[1].Offset + frames[1].Size - 1} fail their checks", problem.Problem, StringComparison.Ordinal);
        Assert.Equal(Concat(part, (0, SessionLogFormat.FileHeaderSize), frames[0], frames[2]), await File.ReadAllBytesAsync(RestoredFile("session_s1.log.1"), Ct));
        Assert.Equal(live, await File.ReadAllBytesAsync(RestoredFile("session_s1.log"), Ct));
        Assert.Equal("a\nc\nd\n", await ReadRestoredLogAsync(null));
    }

    [Theory]
    [InlineData("cut short", true)]
    [InlineData("a flipped byte in its last append", false)]
    public async Task ARotatedPart_WhoseLastAppendIsBroken_HasItLeftOut_AndNamed_AndTheExportImports(string damage, bool cutShort)
    {
        // Nothing appends to a part: bytes after its last valid append are damage at rest, not an append in flight.
        await WriteLogWithAPartAsync(null);
        byte[] part = await File.ReadAllBytesAsync(Part, Ct);
        List<(long Offset, int Size)> frames = DamagedLogAppends.Frames(part);
        byte[] damaged = cutShort ? part[..^3] : [.. part];
        if (!cutShort)
        {
            damaged[frames[2].Offset + SessionLogFormat.FrameHeaderSize + 1] ^= 0x40;
        }

        await File.WriteAllBytesAsync(Part, damaged, Ct);

        StateArchiveResult exported = StateArchive.Export(_fixture.StatePath, Archive, null, null, TestContext.Current.CancellationToken);
        StateArchive.Import(Archive, Restored, null, TestContext.Current.CancellationToken);

        StateDirectoryProblem problem = Assert.Single(exported.Problems);
        Assert.Equal(Part, problem.Path);
        Assert.True(problem.Problem.Contains($"bytes {frames[2].Offset}..{damaged.Length - 1}", StringComparison.Ordinal), $"{damage}: {problem.Problem}");
        Assert.DoesNotContain("next start", problem.Problem, StringComparison.Ordinal);
        Assert.Equal(part[..(int)frames[2].Offset], await File.ReadAllBytesAsync(RestoredFile("session_s1.log.1"), Ct));
        Assert.Equal("a\nb\nd\n", await ReadRestoredLogAsync(null));
    }

    [Fact]
    public async Task AHealthyLogAndPart_AreCopiedByteForByte_WithNoProblem()
    {
        await WriteLogWithAPartAsync(null);
        byte[] part = await File.ReadAllBytesAsync(Part, Ct);
        byte[] live = await File.ReadAllBytesAsync(Log, Ct);

        StateArchiveResult exported = StateArchive.Export(_fixture.StatePath, Archive, null, null, TestContext.Current.CancellationToken);
        StateArchive.Import(Archive, Restored, null, TestContext.Current.CancellationToken);

        Assert.Empty(exported.Problems);
        Assert.Equal(part, await File.ReadAllBytesAsync(RestoredFile("session_s1.log.1"), Ct));
        Assert.Equal(live, await File.ReadAllBytesAsync(RestoredFile("session_s1.log"), Ct));
    }

    [Theory]
    [InlineData("a flipped byte (the append fails its checksum)", false)]
    [InlineData("an envelope that does not open (its checksum holds)", true)]
    public async Task UnderEncryption_DamageBetweenValidAppends_IsLeftOut_AndTheValidSealedAppendsImportAndOpen(string damage, bool reframed)
    {
        var codec = new AesGcmTestCodec();
        await WriteLogAsync(codec, "one\n", "two\n", "three\n");
        byte[] bytes = await File.ReadAllBytesAsync(Log, Ct);
        Assert.Equal(SessionLogFormat.EnvelopedVersion, SessionLogFormat.HeaderVersion(bytes));
        List<(long Offset, int Size)> frames = DamagedLogAppends.Frames(bytes);
        (long at, int size) = frames[1];
        if (reframed)
        {
            // The sealed text's last byte flipped, the frame made again around it: it passes the frame's checks, and
            // its envelope does not open.
            byte[] text = SessionLogFormat.Text(bytes, at, size).ToArray();
            text[^1] ^= 0x01;
            SessionLogFormat.Frame(text, null).CopyTo(bytes, at);
            Assert.Equal(size, SessionLogFormat.FrameAt(bytes, at));
        }
        else
        {
            bytes[at + SessionLogFormat.FrameHeaderSize + 1] ^= 0x40;
        }

        await File.WriteAllBytesAsync(Log, bytes, Ct);

        StateArchiveResult exported = StateArchive.Export(_fixture.StatePath, Archive, codec, null, TestContext.Current.CancellationToken);
        StateArchive.Import(Archive, Restored, codec, TestContext.Current.CancellationToken);

        StateDirectoryProblem problem = Assert.Single(exported.Problems);
        Assert.Equal(Log, problem.Path);
        Assert.Contains($"bytes {at}..{at + size - 1} fail their checks", problem.Problem, StringComparison.Ordinal);
        Assert.Equal(Concat(bytes, (0, SessionLogFormat.FileHeaderSize), frames[0], frames[2]), await File.ReadAllBytesAsync(RestoredFile("session_s1.log"), Ct));
        Assert.True("one\nthree\n" == await ReadRestoredLogAsync(codec), damage);
    }

    [Fact]
    public async Task ALogWithDamage_IsStillCopiedAFrameOrABlockAtATime()
    {
        const int readLimit = 1 << 20;
        string[] appends = [.. Enumerable.Range(0, 60).Select(i => new string((char)('a' + (i % 26)), 1 + (i * 104_729 % 300_000)) + "\n")];
        await WriteLogAsync(null, appends);
        byte[] bytes = await File.ReadAllBytesAsync(Log, Ct);
        Assert.True(bytes.Length > 4 * readLimit, "the log must be larger than the read limit");
        List<(long Offset, int Size)> frames = DamagedLogAppends.Frames(bytes);
        bytes[frames[30].Offset + SessionLogFormat.FrameHeaderSize + 1] ^= 0x40;
        await File.WriteAllBytesAsync(Log, bytes, Ct);
        string logs = _fixture.File("logs");
        var disk = new BoundedReadFileSystem(PhysicalFileSystem.Instance, p => p.StartsWith(logs, StringComparison.Ordinal), readLimit);

        StateArchiveResult exported = StateArchive.Export(_fixture.StatePath, Archive, null, null, disk, TestContext.Current.CancellationToken);
        StateArchive.Import(Archive, Restored, null, TestContext.Current.CancellationToken);

        Assert.True(disk.LargestRead > 0, "the log was read through the bounded file system");
        Assert.Single(exported.Problems);
        Assert.Equal(string.Concat(appends.Where((_, i) => i != 30)), await ReadRestoredLogAsync(null));
    }

    /// <summary>Session s1 with a rotated part holding "a", "b", "c" and a live log holding "d".</summary>
    private async Task WriteLogWithAPartAsync(IPayloadCodec? codec)
    {
        await WriteLogAsync(codec, "a\n", "b\n", "c\n");
        File.Move(Log, Part);
        await WriteLogAsync(codec, "d\n");
        Assert.True(File.Exists(Part));
    }

    private async Task WriteLogAsync(IPayloadCodec? codec, params string[] appends)
    {
        StatePersistenceOptions options = _fixture.Options(o => o.ScrubInterval = TimeSpan.Zero);
        await using var service = new StatePersistenceService(options, new FileStateStore(options, PhysicalFileSystem.Instance, codec, _fixture.Time), timeProvider: _fixture.Time);
        await service.StartAsync(Ct);
        await service.SaveSessionAsync(new SessionInfo { Id = "s1", Type = "chat", Status = "active" }, Ct);
        foreach (string append in appends)
        {
            await service.AppendSessionLogAsync("s1", append, Ct);
        }
    }

    private async Task<string?> ReadRestoredLogAsync(IPayloadCodec? codec)
    {
        var options = new StatePersistenceOptions { StatePath = Restored };
        await using var restored = new StatePersistenceService(options, new FileStateStore(options, PhysicalFileSystem.Instance, codec, _fixture.Time), timeProvider: _fixture.Time);
        await restored.StartAsync(Ct);
        return await restored.ReadSessionLogAsync("s1", Ct);
    }

    private string RestoredFile(string name) => Path.Combine(Restored, "logs", name);

    private static byte[] Concat(byte[] bytes, params (long Offset, int Size)[] ranges) =>
        [.. ranges.SelectMany(r => bytes.AsSpan((int)r.Offset, r.Size).ToArray())];
}
