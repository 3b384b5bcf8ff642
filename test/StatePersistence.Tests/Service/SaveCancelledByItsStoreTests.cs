using StatePersistence.Diagnostics;
using StatePersistence.FileSystem;
using StatePersistence.Serialization;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Service;

/// <summary>
/// A save whose store throws <see cref="OperationCanceledException"/> the caller did not ask for (an application codec's
/// <c>HttpClient</c> timing out throws <see cref="TaskCanceledException"/>) is a failed save: logged, counted in
/// <c>statepersistence.save.failures</c>, raised as <c>StateSaveError</c> and in the health, and thrown to the caller.
/// Before 2026-12-07 every cancellation was taken for the caller's: such a failure was only thrown, and the health
/// stayed Healthy with nothing counted or raised.
/// </summary>
public sealed class SaveCancelledByItsStoreTests : IDisposable
{
    private const string Timeout = "The request was canceled due to the configured HttpClient.Timeout of 100 seconds elapsing.";
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Theory]
    [InlineData(PayloadKind.JournalRecord, "save-task")]
    [InlineData(PayloadKind.SessionLogAppend, "append-log")]
    public async Task ASaveCancelledByItsCodec_IsAFailedSave_ReportedAndInTheHealth(PayloadKind kind, string operation)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var codec = new TimingOutCodec(kind);
        await using StatePersistenceService service = await _fixture.OpenWithCodecAsync(PhysicalFileSystem.Instance, o =>
        {
            o.PayloadCodec = codec;
            o.AutosaveInterval = TimeSpan.Zero;
            o.ScrubInterval = TimeSpan.Zero;
        });
        await service.SaveSessionAsync(new StatePersistence.Model.SessionInfo { Id = "s1", Type = "interactive", Status = "active" }, ct);
        var errors = new List<StateSaveErrorEventArgs>();
        service.StateSaveError += (_, e) => errors.Add(e);
        codec.TimeOut = true;

        await Assert.ThrowsAsync<TaskCanceledException>(() => Save(service, kind, ct));

        StateSaveErrorEventArgs error = Assert.Single(errors);
        Assert.Equal(operation, error.Operation);
        Assert.IsType<TaskCanceledException>(error.Error);
        StateHealth health = service.CheckHealth();
        Assert.Equal(StateHealthStatus.Unhealthy, health.Status);
        Assert.Contains(health.Reasons, r => r.Contains("HttpClient.Timeout", StringComparison.Ordinal));

        // Once the codec answers again, saves succeed and the health recovers.
        codec.TimeOut = false;
        await Save(service, kind, ct);
        Assert.Equal(StateHealthStatus.Healthy, service.CheckHealth().Status);
    }

    private static Task Save(StatePersistenceService service, PayloadKind kind, CancellationToken ct) => kind == PayloadKind.JournalRecord
        ? service.SaveTaskAsync(StateFixture.Task("task_1"), ct).AsTask()
        : service.AppendSessionLogAsync("s1", "a line\n", ct).AsTask();

    /// <summary>Stores payloads as they are; while <see cref="TimeOut"/> is set, sealing a payload of its kind throws as an HttpClient timing out does.</summary>
    private sealed class TimingOutCodec(PayloadKind failing) : IPayloadCodec
    {
        private volatile bool _timeOut;

        public bool TimeOut
        {
            get => _timeOut;
            set => _timeOut = value;
        }

        public string Name => "timing-out";

        public byte[] Encode(ReadOnlySpan<byte> plain, PayloadContext context) =>
            _timeOut && context.Kind == failing ? throw new TaskCanceledException(Timeout) : plain.ToArray();

        public byte[] Decode(ReadOnlySpan<byte> stored, PayloadContext context) => stored.ToArray();
    }
}
