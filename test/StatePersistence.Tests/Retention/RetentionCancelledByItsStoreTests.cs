using System.Text.Json;
using StatePersistence.Diagnostics;
using StatePersistence.InMemory;
using StatePersistence.Serialization;

namespace StatePersistence.Tests.Retention;

/// <summary>
/// A retention pass step that throws an <see cref="OperationCanceledException"/> the service did not ask for (a codec's
/// <c>HttpClient</c> timing out while a report is opened throws <see cref="TaskCanceledException"/>) fails that report
/// alone, reported under <c>retention-report</c>, as any other failure of one report does: the pass goes on with the
/// next. Before 2026-12-07 such a cancellation was taken for the service's and left the pass, so every report after
/// the failing one was never judged, on every pass while the codec kept timing out on it.
/// </summary>
public sealed class RetentionCancelledByItsStoreTests
{
    private const string Timeout = "The request was canceled due to the configured HttpClient.Timeout of 100 seconds elapsing.";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AReportWhoseCodecTimesOut_IsAFailureOfThatReport_AndTheReportsAfterItAreStillExpired()
    {
        var codec = new TimingOutCodec("r1");
        await using var store = new InMemoryStateStore(codec: codec);
        var options = new StatePersistenceOptions { AutosaveInterval = TimeSpan.Zero };
        options.Retention.Interval = TimeSpan.Zero;
        options.Retention.ReportMaxAge = TimeSpan.FromDays(1);
        await using var service = new StatePersistenceService(options, store, blobs: store);
        await service.StartAsync(Ct);
        JsonElement old = JsonDocument.Parse("""{"created_at":"2023-01-01T00:00:00Z"}""").RootElement.Clone();
        foreach (string id in new[] { "r1", "r2", "r3" })
        {
            await service.SaveReportAsync(id, old, Ct);
        }

        var failures = new List<StateSaveErrorEventArgs>();
        service.StateSaveError += (_, e) =>
        {
            lock (failures)
            {
                failures.Add(e);
            }
        };
        codec.TimeOut = true;

        await service.RunRetentionOnceAsync(Ct);

        Assert.Equal(["r1"], await service.ListReportsAsync(Ct));
        StateSaveErrorEventArgs failed = Assert.Single(failures);
        Assert.Equal("retention-report", failed.Operation);
        Assert.IsType<TaskCanceledException>(failed.Error);
    }

    /// <summary>Stores payloads as they are; while <see cref="TimeOut"/> is set, opening report <c>failing</c> throws as an HttpClient timing out does.</summary>
    private sealed class TimingOutCodec(string failing) : IPayloadCodec
    {
        private volatile bool _timeOut;

        public bool TimeOut
        {
            get => _timeOut;
            set => _timeOut = value;
        }

        public string Name => "timing-out";

        public byte[] Encode(ReadOnlySpan<byte> plain, PayloadContext context) => plain.ToArray();

        public byte[] Decode(ReadOnlySpan<byte> stored, PayloadContext context) =>
            _timeOut && context.Kind == PayloadKind.Report && context.Id == failing ? throw new TaskCanceledException(Timeout) : stored.ToArray();
    }
}
