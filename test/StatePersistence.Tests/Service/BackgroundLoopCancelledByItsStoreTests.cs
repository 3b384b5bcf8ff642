using StatePersistence.Diagnostics;
using StatePersistence.FileSystem;
using StatePersistence.Serialization;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>
/// A background pass (here the scrub) whose step throws <see cref="OperationCanceledException"/> that nobody asked for
/// (an application codec's <c>HttpClient</c> timing out throws <see cref="TaskCanceledException"/>) is a failed step:
/// logged, counted and raised as <c>StateSaveError</c> under the pass's name, and the next tick runs it again. Before
/// 2026-12-07 it was taken for the service's own stop: reported nowhere, the pass never ran again, and the disposal threw
/// that exception before it drained the saves in flight or wrote the final snapshot.
/// </summary>
public sealed class BackgroundLoopCancelledByItsStoreTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task AScrubCancelledByItsCodec_IsAFailedScrub_AndTheNextTickScrubsAgain()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var codec = new TimingOutCodec();
        await using StatePersistenceService service = await _fixture.OpenWithCodecAsync(PhysicalFileSystem.Instance, o =>
        {
            o.PayloadCodec = codec;
            o.AutosaveInterval = TimeSpan.Zero;
            o.ScrubInterval = TimeSpan.FromMinutes(1);
        });
        var failed = new TaskCompletionSource<StateSaveErrorEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        service.StateSaveError += (_, e) => failed.TrySetResult(e);
        await service.SaveTaskAsync(StateFixture.Task("task_1"), ct);
        await service.SaveSnapshotAsync(ct);
        codec.TimeOut = true;

        await _fixture.TickUntilAsync(() => failed.Task.IsCompleted, "a scrub whose read timed out reported as failed");
        StateSaveErrorEventArgs error = await failed.Task;
        Assert.Equal("scrub", error.Operation);
        Assert.IsType<TaskCanceledException>(error.Error);

        // The scrub still runs: a later tick reads the item file back again.
        codec.TimeOut = false;
        long before = codec.TaskReads;
        await _fixture.TickUntilAsync(() => codec.TaskReads > before, "a later scrub reading the item file back");
        await service.DisposeAsync();
    }

    /// <summary>Stores payloads as they are; while <see cref="TimeOut"/> is set, reading a task file back throws as an HttpClient timing out does.</summary>
    private sealed class TimingOutCodec : IPayloadCodec
    {
        private volatile bool _timeOut;
        private long _taskReads;

        public bool TimeOut
        {
            get => _timeOut;
            set => _timeOut = value;
        }

        public long TaskReads => Interlocked.Read(ref _taskReads);

        public string Name => "timing-out";

        public byte[] Encode(ReadOnlySpan<byte> plain, PayloadContext context) => plain.ToArray();

        public byte[] Decode(ReadOnlySpan<byte> stored, PayloadContext context)
        {
            if (context.Kind == PayloadKind.Task)
            {
                if (_timeOut)
                {
                    throw new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout of 100 seconds elapsing.");
                }

                Interlocked.Increment(ref _taskReads);
            }

            return stored.ToArray();
        }
    }
}
