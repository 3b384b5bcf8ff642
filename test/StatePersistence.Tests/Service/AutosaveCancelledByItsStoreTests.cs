using StatePersistence.Diagnostics;
using StatePersistence.FileSystem;
using StatePersistence.Serialization;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>
/// An autosave whose checkpoint throws <see cref="OperationCanceledException"/> that nobody asked for (an application
/// codec's or key provider's <c>HttpClient</c> timing out throws <see cref="TaskCanceledException"/>) is a failed
/// snapshot: logged, counted, raised as <c>StateSaveError</c> and in the health, and the autosave goes on at the next
/// tick. Before 2026-12-07 it was taken for the service's own stop: reported nowhere (health stayed Healthy), and the
/// autosave loop ended for good, so no checkpoint was written again until the shutdown, whose disposal then threw
/// that exception before it drained the saves in flight or wrote the final snapshot.
/// </summary>
public sealed class AutosaveCancelledByItsStoreTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task ACheckpointCancelledByItsCodec_IsAFailedSnapshot_AndTheNextTickWritesIt()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var codec = new TimingOutCodec();
        await using StatePersistenceService service = await _fixture.OpenWithCodecAsync(PhysicalFileSystem.Instance, o =>
        {
            o.PayloadCodec = codec;
            o.ScrubInterval = TimeSpan.Zero;
        });
        var failed = new TaskCompletionSource<StateSaveErrorEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        var saved = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        service.StateSaveError += (_, e) => failed.TrySetResult(e);
        service.StateSaved += (_, e) =>
        {
            if (e.What == "snapshot")
            {
                saved.TrySetResult();
            }
        };
        await service.SaveTaskAsync(StateFixture.Task("task_1"), ct);
        codec.TimeOut = true;

        _fixture.Time.Advance(TimeSpan.FromSeconds(30));
        StateSaveErrorEventArgs error = await failed.Task.WaitAsync(Patience, ct);

        Assert.Equal("snapshot", error.Operation);
        Assert.IsType<TaskCanceledException>(error.Error);
        StateHealth health = service.CheckHealth();
        Assert.Equal(StateHealthStatus.Unhealthy, health.Status);
        Assert.Contains(health.Reasons, r => r.Contains("HttpClient.Timeout", StringComparison.Ordinal));

        // The autosave is still running: the next tick writes the snapshot once the codec answers again.
        codec.TimeOut = false;
        _fixture.Time.Advance(TimeSpan.FromSeconds(30));
        await saved.Task.WaitAsync(Patience, ct);
        Assert.True(File.Exists(_fixture.File("state.json")));
        await service.DisposeAsync();
    }

    /// <summary>Stores payloads as they are; while <see cref="TimeOut"/> is set, sealing a snapshot throws as an HttpClient timing out does.</summary>
    private sealed class TimingOutCodec : IPayloadCodec
    {
        private volatile bool _timeOut;

        public bool TimeOut
        {
            get => _timeOut;
            set => _timeOut = value;
        }

        public string Name => "timing-out";

        public byte[] Encode(ReadOnlySpan<byte> plain, PayloadContext context) =>
            _timeOut && context.Kind == PayloadKind.Snapshot
                ? throw new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout of 100 seconds elapsing.")
                : plain.ToArray();

        public byte[] Decode(ReadOnlySpan<byte> stored, PayloadContext context) => stored.ToArray();
    }
}
