using System.Text;
using StatePersistence.Encryption;
using StatePersistence.Errors;
using StatePersistence.FileStore.SessionLog;
using StatePersistence.Storage;
using StatePersistence.Tests.Retention;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>
/// A file store's session log opened and sent an append at a time (<see cref="IStatePersistence.OpenSessionLogAsync"/>):
/// in bounded memory, over rotated parts and encrypted frames, with damage handled as a whole read handles it, and
/// damage that appears once sending began thrown rather than passed off as the end of the text.
/// </summary>
public sealed class SessionLogStreamingTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ALargeLog_IsSentInFarLessMemoryThanItsSize_WhereAWholeReadTakesMoreThanItsSize()
    {
        const int appendBytes = 64 * 1024;
        const int appends = 256; // 16 MiB of text
        await using StatePersistenceService service = await _fixture.OpenAsync();
        string append = new string('x', appendBytes - 1) + "\n";
        for (int i = 0; i < appends; i++)
        {
            await service.AppendSessionLogAsync("big", append, Ct);
        }

        const long size = (long)appendBytes * appends;
        long whole = await AllocatedAsync(async () => Assert.Equal(size, (await service.ReadSessionLogAsync("big", Ct))!.Length));
        var sink = new CountingStream();
        long streamed = await AllocatedAsync(async () =>
        {
            await using ISessionLogReader reader = (await service.OpenSessionLogAsync("big", Ct))!;
            Assert.IsType<FramedLogReader>(reader);
            await reader.CopyToAsync(sink, 0, reader.Length, Ct);
            await reader.CopyToAsync(sink, size - 100, 100, Ct);
        });

        Assert.Equal(size + 100, sink.Written);
        Assert.True(whole > size, $"the whole read allocated {whole} bytes, less than the {size}-byte log: the measure is wrong");
        Assert.True(streamed < size / 16, $"sending the {size}-byte log allocated {streamed} bytes; a few appends' worth was expected");
    }

    [Fact]
    public async Task EncryptedRotatedLog_ReadsAsTheWholeRead_EveryRangeAcrossTheParts()
    {
        string keyFile = Path.Combine(Path.GetDirectoryName(_fixture.StatePath)!, "keys.json");
        EncryptionKeyFile.Create(keyFile);
        using var harness = new RetentionHarness();
        await using StatePersistenceService service = await harness.OpenAsync(
            r => { r.SessionLogMaxBytes = 300; r.SessionLogRotatedParts = 3; }, o => o.Encryption.KeyFile = keyFile);
        await RetentionHarness.AppendLinesAsync(service, "s1", 0, 4);
        await service.RunRetentionOnceAsync(Ct);
        await RetentionHarness.AppendLinesAsync(service, "s1", 5, 9);
        await service.RunRetentionOnceAsync(Ct);
        await RetentionHarness.AppendLinesAsync(service, "s1", 10, 12);
        Assert.Equal(["session_s1.log", "session_s1.log.1", "session_s1.log.2"], harness.LogFiles());
        Assert.DoesNotContain(harness.LogFiles(), name => File.ReadAllText(harness.Fixture.File("logs", name)).Contains("line-", StringComparison.Ordinal));

        byte[] expected = Encoding.UTF8.GetBytes(RetentionHarness.Lines(0, 12));
        Assert.Equal(RetentionHarness.Lines(0, 12), await service.ReadSessionLogAsync("s1", Ct));
        await using ISessionLogReader reader = (await service.OpenSessionLogAsync("s1", Ct))!;
        Assert.IsType<FramedLogReader>(reader);
        Assert.Equal(expected.Length, reader.Length);
        for (int offset = 0; offset < expected.Length; offset += 3)
        {
            int count = Math.Min(45, expected.Length - offset); // 45 bytes: across a part's end from anywhere near it
            Assert.Equal(expected.AsSpan(offset, count).ToArray(), await CopyAsync(reader, offset, count));
        }
    }

    [Fact]
    public async Task AFlippedByte_IsRepairedWhenTheLogIsOpened_AsAWholeReadRepairsIt()
    {
        await AppendAsync("one\n", "two\n", "three\n");
        string log = _fixture.File("logs", "session_s1.log");
        byte[] bytes = await File.ReadAllBytesAsync(log, Ct);
        bytes[bytes.AsSpan().IndexOf("two"u8)] ^= 0x01;
        await File.WriteAllBytesAsync(log, bytes, Ct);

        await using StatePersistenceService service = await _fixture.OpenAsync();
        int detected = 0;
        service.CorruptionDetected += (_, _) => detected++;
        await using ISessionLogReader reader = (await service.OpenSessionLogAsync("s1", Ct))!;

        Assert.Equal("one\nthree\n", Encoding.UTF8.GetString(await CopyAsync(reader, 0, reader.Length)));
        Assert.Equal(1, detected);
        string aside = Assert.Single(Directory.GetFiles(_fixture.File("logs"), "session_s1.log.corrupt.*"));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(aside, Ct));
        Assert.IsType<FramedLogReader>(reader); // the repaired log is streamed, not held
    }

    [Fact]
    public async Task AFlippedByteInOneOfManyParts_IsRepairedInThatPartAlone_AndTheLogIsSentInFarLessMemoryThanItsSize()
    {
        const int appendBytes = 16 * 1024;
        const int appends = 16; // 256 KiB of text a file
        const int parts = 40;
        string append = new string('x', appendBytes - 1) + "\n";
        await AppendAsync([.. Enumerable.Repeat(append, appends)]);

        // The live log copied as its rotated parts (a rotation renames the live log into them, as it is): 41 files.
        string log = _fixture.File("logs", "session_s1.log");
        for (int part = 1; part <= parts; part++)
        {
            File.Copy(log, $"{log}.{part}");
        }

        string damaged = $"{log}.20";
        byte[] bytes = await File.ReadAllBytesAsync(damaged, Ct);
        bytes[bytes.Length / 2] ^= 0x01;
        await File.WriteAllBytesAsync(damaged, bytes, Ct);

        await using StatePersistenceService service = await _fixture.OpenAsync();
        int detected = 0;
        service.CorruptionDetected += (_, _) => detected++;
        const long size = (long)appendBytes * appends * (parts + 1);
        var sink = new CountingStream();
        long streamed = await AllocatedAsync(async () =>
        {
            await using ISessionLogReader reader = (await service.OpenSessionLogAsync("s1", Ct))!;
            Assert.IsType<FramedLogReader>(reader);
            await reader.CopyToAsync(sink, 0, reader.Length, Ct);
        });

        Assert.Equal(size - appendBytes, sink.Written); // the damaged append is left out
        Assert.Equal(1, detected);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Assert.Single(Directory.GetFiles(_fixture.File("logs"), "session_s1.log.20.corrupt.*")), Ct));
        Assert.True(streamed < size / 4, $"opening and sending the {size}-byte log with one damaged {bytes.Length}-byte part allocated {streamed} bytes; about that part's size a few times was expected");
    }

    [Fact]
    public async Task DamageThatAppearsAfterTheLogWasOpened_IsThrownAfterTheTextBeforeIt_AndTheNextOpenRepairsIt()
    {
        string a = new('a', 200_000), b = new('b', 200_000), c = new('c', 200_000);
        await AppendAsync(a, b, c);
        await using StatePersistenceService service = await _fixture.OpenAsync();
        int detected = 0;
        service.CorruptionDetected += (_, _) => detected++;
        await using ISessionLogReader reader = (await service.OpenSessionLogAsync("s1", Ct))!;

        // A byte of the middle append changed in place (the same file the reader holds) once the text began to go out:
        // damage between valid appends, which a read repairs (a damaged last append is a torn tail to a read).
        string log = _fixture.File("logs", "session_s1.log");
        var sink = new CountingStream(() =>
        {
            using FileStream file = new(log, FileMode.Open, FileAccess.ReadWrite);
            file.Position = file.Length / 2;
            file.WriteByte((byte)'B');
        });
        StateStorageException thrown = await Assert.ThrowsAsync<StateStorageException>(() => reader.CopyToAsync(sink, 0, reader.Length, Ct).AsTask());

        Assert.Equal(600_000, reader.Length);
        Assert.Equal(200_000, sink.Written);
        Assert.Equal(log, thrown.Path);
        Assert.Contains("changed", thrown.Message, StringComparison.Ordinal);
        Assert.Contains("session 's1'", thrown.Message, StringComparison.Ordinal);
        await using ISessionLogReader again = (await service.OpenSessionLogAsync("s1", Ct))!;
        Assert.Equal(a + c, Encoding.UTF8.GetString(await CopyAsync(again, 0, again.Length)));
        Assert.Equal(1, detected);
        Assert.Single(Directory.GetFiles(_fixture.File("logs"), "session_s1.log.corrupt.*"));
    }

    [Fact]
    public async Task AVersion1PlainTextLog_ReadsAsTheWholeRead()
    {
        await AppendAsync("created\n");
        string log = _fixture.File("logs", "session_old.log");
        await File.WriteAllTextAsync(log, "written by a build before frames\nsecond line\n", Ct);

        await using StatePersistenceService service = await _fixture.OpenAsync();
        await using ISessionLogReader reader = (await service.OpenSessionLogAsync("old", Ct))!;

        Assert.Equal(await service.ReadSessionLogAsync("old", Ct), Encoding.UTF8.GetString(await CopyAsync(reader, 0, reader.Length)));
        Assert.Equal("second line\n", Encoding.UTF8.GetString(await CopyAsync(reader, reader.Length - 12, 12)));
    }

    private async Task AppendAsync(params string[] texts)
    {
        await using StatePersistenceService service = await _fixture.OpenAsync();
        foreach (string text in texts)
        {
            await service.AppendSessionLogAsync("s1", text, Ct);
        }
    }

    /// <summary>What <paramref name="read"/> allocated on this thread; every step of it completes synchronously here.</summary>
    private static async Task<long> AllocatedAsync(Func<Task> read)
    {
        int thread = Environment.CurrentManagedThreadId;
        long before = GC.GetAllocatedBytesForCurrentThread();
        Task reading = read();
        Assert.True(reading.IsCompleted, "the read did not complete synchronously, so this thread's allocations do not measure it");
        await reading;
        Assert.Equal(thread, Environment.CurrentManagedThreadId);
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    private static async Task<byte[]> CopyAsync(ISessionLogReader reader, long offset, long count)
    {
        using var copy = new MemoryStream();
        await reader.CopyToAsync(copy, offset, count, Ct);
        return copy.ToArray();
    }

    /// <summary>A destination that keeps only a count of what it was sent (and runs <paramref name="onFirstWrite"/> once).</summary>
    private sealed class CountingStream(Action? onFirstWrite = null) : Stream
    {
        private Action? _onFirstWrite = onFirstWrite;

        public long Written { get; private set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => Written;

        public override long Position { get => Written; set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Interlocked.Exchange(ref _onFirstWrite, null)?.Invoke();
            Written += buffer.Length;
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
