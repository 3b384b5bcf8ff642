using System.Text;
using StatePersistence.Errors;
using StatePersistence.FileStore.SessionLog;
using StatePersistence.FileSystem;
using StatePersistence.Storage;
using StatePersistence.Testing;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// Opening a log to read it verifies every append once, to know its length; the next open of the same log verifies
/// only what was appended since (<see cref="LogScanMark"/>). Before, each open verified the whole log again: a client
/// tailing a 200 MB log (the dashboard asks after every append) read 200 MB a request, 0.15 s each here. What a read
/// sends is still verified as it is sent, and a log the store rewrote, or a file replaced behind it, is scanned whole.
/// </summary>
public sealed class SessionLogTailTests : IDisposable
{
    private const int Appends = 200;
    private const int AppendBytes = 1_000;

    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Log => _fixture.File("logs", "session_s1.log");

    private BoundedReadFileSystem Disk { get; } = new(PhysicalFileSystem.Instance, p => p.Contains("/logs/session_s1.log", StringComparison.Ordinal), int.MaxValue);

    private static string Line(int i) => $"{i:D6}".PadRight(AppendBytes - 1, 'x') + "\n";

    [Fact]
    public async Task TheNextOpen_VerifiesOnlyTheAppendsSinceTheLast_AndReadsTheWholeTextRight()
    {
        await using StatePersistenceService service = await _fixture.OpenAsync(fileSystem: Disk);
        await AppendAsync(service, 0, Appends);
        long firstOpen = await BytesReadOpeningAsync(service, Appends);
        Assert.True(firstOpen >= Appends * AppendBytes, $"the first open verifies the whole log ({firstOpen} bytes read)");

        await AppendAsync(service, Appends, 5);
        long nextOpen = await BytesReadOpeningAsync(service, Appends + 5);

        // The file header, the header of the last frame verified before, then each new frame (its header read first,
        // then the whole frame): not the 200 appends before them.
        int bound = 8 + 12 + 5 * (12 + AppendBytes + 20);
        Assert.True(nextOpen <= bound, $"the next open read {nextOpen} bytes; the five new appends and their headers are {bound}");
        Assert.Equal(Expected(0, Appends + 5), await ReadAllAsync(service));
        Assert.Equal(Expected(0, Appends + 5), await service.ReadSessionLogAsync("s1", Ct));
    }

    [Fact]
    public async Task AFrameDamagedAfterItWasVerified_FailsTheReadThatSendsIt_AndTheNextOpenFindsAndRepairsIt()
    {
        await using StatePersistenceService service = await _fixture.OpenAsync(fileSystem: Disk);
        await AppendAsync(service, 0, 20);
        await BytesReadOpeningAsync(service, 20);

        // A flipped byte in the third append's text, after the open verified it.
        using (FileStream file = File.Open(Log, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = 8 + 2 * (AppendBytes + 20) + 12 + 100;
            int b = file.ReadByte();
            file.Position--;
            file.WriteByte((byte)(b ^ 0x20));
        }

        StateStorageException changed = await Assert.ThrowsAsync<StateStorageException>(() => ReadAllAsync(service));
        Assert.Contains("changed", changed.Message, StringComparison.Ordinal);

        await using ISessionLogReader reopened = (await service.OpenSessionLogAsync("s1", Ct))!;
        Assert.Equal(19 * AppendBytes, reopened.Length);
        Assert.Single(Directory.GetFiles(_fixture.StatePath, "session_s1.log.corrupt*", SearchOption.AllDirectories));
        Assert.Equal(Expected(0, 2) + Expected(3, 17), await ReadAllAsync(service));
    }

    [Fact]
    public async Task AFileReplacedBehindTheStore_WithTheLastAppendAtTheSamePlace_IsScannedWhole()
    {
        await using StatePersistenceService service = await _fixture.OpenAsync(fileSystem: Disk);
        await AppendAsync(service, 0, 3);
        await BytesReadOpeningAsync(service, 3);

        // The same size and the same last append at the same offset, but the first two appends' 2,000 bytes of text
        // are now one frame of 2,020 bytes: only which file it is tells the mark no longer holds.
        byte[] replacement = [.. SessionLogFormat.Frame(Encoding.UTF8.GetBytes(new string('r', 2 * AppendBytes + 20)), SessionLogFormat.PlainVersion),
            .. SessionLogFormat.Frame(Encoding.UTF8.GetBytes(Line(2)), null)];
        Assert.Equal(new FileInfo(Log).Length, replacement.Length);
        string temp = Log + ".replacement";
        await File.WriteAllBytesAsync(temp, replacement, Ct);
        File.Move(temp, Log, overwrite: true);

        Assert.Equal(new string('r', 2 * AppendBytes + 20) + Line(2), await ReadAllAsync(service));
    }

    [Fact]
    public async Task ARotation_ForgetsTheMark_AndTheTextStaysWhole()
    {
        await using StatePersistenceService service = await _fixture.OpenAsync(o =>
        {
            o.Retention.Interval = TimeSpan.Zero;
            o.Retention.SessionLogMaxBytes = 10 * AppendBytes;
            o.Retention.SessionLogRotatedParts = 3;
        }, Disk);
        await AppendAsync(service, 0, 12);
        await BytesReadOpeningAsync(service, 12);

        await service.RunRetentionOnceAsync(Ct);
        Assert.True(File.Exists(Log + ".1"), "the log was rotated");
        await AppendAsync(service, 12, 2);

        Assert.Equal(Expected(0, 14), await ReadAllAsync(service));
    }

    [Fact]
    public async Task OpeningALogThatNeverRotated_DoesNotListTheLogsFolder_AndARotatedOneFindsItsPartsAfterARestart()
    {
        Action<StatePersistenceOptions> rotating = o =>
        {
            o.Retention.Interval = TimeSpan.Zero;
            o.Retention.SessionLogMaxBytes = 10 * AppendBytes;
            o.Retention.SessionLogRotatedParts = 3;
        };
        string logs = _fixture.File("logs");
        await using (StatePersistenceService service = await _fixture.OpenAsync(rotating, Disk))
        {
            await AppendAsync(service, 0, 12);
            int before = Disk.ListingsOf(logs);
            Assert.Equal(Expected(0, 12), await ReadAllAsync(service));
            Assert.Equal(Expected(0, 12), await service.ReadSessionLogAsync("s1", Ct));
            Assert.Null(await service.OpenSessionLogAsync("s2", Ct));
            Assert.Equal(before, Disk.ListingsOf(logs));

            await service.RunRetentionOnceAsync(Ct);
            await AppendAsync(service, 12, 2);
            Assert.Equal(Expected(0, 14), await ReadAllAsync(service));
        }

        await using (StatePersistenceService reopened = await _fixture.OpenAsync(rotating, Disk))
        {
            Assert.True(File.Exists(Log + ".1"), "the log was rotated");
            Assert.Equal(Expected(0, 14), await ReadAllAsync(reopened));
            Assert.Equal(Expected(0, 14), await reopened.ReadSessionLogAsync("s1", Ct));
        }
    }

    private static async Task AppendAsync(StatePersistenceService service, int from, int count)
    {
        for (int i = from; i < from + count; i++)
        {
            await service.AppendSessionLogAsync("s1", Line(i), Ct);
        }
    }

    private async Task<long> BytesReadOpeningAsync(StatePersistenceService service, int appends)
    {
        Disk.ResetBytesRead();
        await using ISessionLogReader reader = (await service.OpenSessionLogAsync("s1", Ct))!;
        long read = Disk.BytesRead;
        Assert.Equal((long)appends * AppendBytes, reader.Length);
        return read;
    }

    private static async Task<string> ReadAllAsync(StatePersistenceService service)
    {
        await using ISessionLogReader reader = (await service.OpenSessionLogAsync("s1", Ct))!;
        using var text = new MemoryStream();
        await reader.CopyToAsync(text, 0, reader.Length, Ct);
        return Encoding.UTF8.GetString(text.ToArray());
    }

    private static string Expected(int from, int count) => string.Concat(Enumerable.Range(from, count).Select(Line));
}
