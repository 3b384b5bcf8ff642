using System.Text;
using StatePersistence.Encryption;
using StatePersistence.FileStore;
using StatePersistence.FileStore.Operations;
using StatePersistence.FileStore.SessionLog;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Serialization;
using StatePersistence.Serialization.Envelope;
using StatePersistence.Testing;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// <c>statectl verify</c> (<see cref="StateDirectoryVerifier"/>) and <c>statectl keys verify</c>
/// (<see cref="PayloadSweep"/>) read a session log a frame at a time: a log of gigabytes is checked in the memory of
/// its largest append (before, each was read whole). They still find damage in the middle of it, at the same bytes.
/// </summary>
public sealed class LogChecksStreamingTests : IDisposable
{
    /// <summary>The largest read a check may ask of a log: larger than any append here, smaller than the log.</summary>
    private const int ReadLimit = 1 << 20;

    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Log => _fixture.File("logs", "session_s1.log");

    private BoundedReadFileSystem BoundedDisk() =>
        new(PhysicalFileSystem.Instance, p => p.EndsWith("/logs/session_s1.log", StringComparison.Ordinal), ReadLimit);

    [Fact]
    public async Task Verify_ReadsALogAFrameAtATime_AndStillListsDamageInItsMiddle()
    {
        await WriteLogAsync(codec: null);
        (long damagedFrame, long frameSize) = FlipAByteInTheMiddleFrame();
        BoundedReadFileSystem disk = BoundedDisk();

        StateDirectoryVerification result = StateDirectoryVerifier.Verify(_fixture.StatePath, null, disk);

        Assert.True(disk.LargestRead > 0, "the log was read through the bounded file system");
        StateDirectoryProblem problem = Assert.Single(result.Problems);
        Assert.Equal(Log, problem.Path);
        Assert.Contains($"bytes {damagedFrame}..{damagedFrame + frameSize - 1} of the log are damaged", problem.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeysVerify_ReadsALogAFrameAtATime_OpensEveryAppend_AndStillListsDamageInItsMiddle()
    {
        var codec = new AesGcmTestCodec();
        await WriteLogAsync(codec);
        var layout = new StateLayout(_fixture.StatePath);
        BoundedReadFileSystem disk = BoundedDisk();

        Assert.Empty(new PayloadSweep(disk, layout, PayloadEnvelope.For(codec), Ct).Run());
        Assert.True(disk.LargestRead > 0, "the log was read through the bounded file system");
        (long damagedFrame, long frameSize) = FlipAByteInTheMiddleFrame();
        string problem = Assert.Single(new PayloadSweep(BoundedDisk(), layout, PayloadEnvelope.For(codec), Ct).Run());
        Assert.Contains($"bytes {damagedFrame}..{damagedFrame + frameSize - 1} are damaged", problem, StringComparison.Ordinal);
    }

    /// <summary>Session s1 with a log of 60 appends of up to 300 KB (9 MB in all), sealed with <paramref name="codec"/> when there is one.</summary>
    private async Task WriteLogAsync(IPayloadCodec? codec)
    {
        StatePersistenceOptions options = _fixture.Options(o => o.ScrubInterval = TimeSpan.Zero);
        await using var service = new StatePersistenceService(options, new FileStateStore(options, PhysicalFileSystem.Instance, codec, _fixture.Time), timeProvider: _fixture.Time);
        await service.StartAsync(Ct);
        await service.SaveSessionAsync(new SessionInfo { Id = "s1", Type = "chat", Status = "active" }, Ct);
        for (int i = 0; i < 60; i++)
        {
            await service.AppendSessionLogAsync("s1", new string((char)('a' + (i % 26)), 1 + (i * 104_729 % 300_000)) + "\n", Ct);
        }

        Assert.True(new FileInfo(Log).Length > 4 * ReadLimit, "the log must be larger than the read limit");
    }

    /// <summary>Flips a byte inside the text of the frame that holds the log's middle byte; returns that frame's offset and size.</summary>
    private (long Offset, long Size) FlipAByteInTheMiddleFrame()
    {
        byte[] bytes = File.ReadAllBytes(Log);
        long offset = SessionLogFormat.FileHeaderSize;
        while (true)
        {
            int size = SessionLogFormat.FrameAt(bytes, offset);
            Assert.True(size > 0);
            if (offset + size > bytes.Length / 2)
            {
                bytes[offset + (size / 2)] ^= 0x40;
                File.WriteAllBytes(Log, bytes);
                return (offset, size);
            }

            offset += size;
        }
    }
}
