using System.Text;
using StatePersistence.FileStore;
using StatePersistence.Recovery;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileStore;

/// <summary>
/// A failed append's marker (<c>session_&lt;id&gt;.log.failed</c>) holds the offset the failed append started at, in
/// ASCII digits. One that does not hold that (a flipped byte, a block of zeros) says nowhere to cut: start-up moves it
/// aside and reports it as any damaged file, and still cuts the log's torn tail. Before 2026-12-07 it was deleted
/// without a word: the evidence gone, nothing logged, counted or raised.
/// </summary>
public sealed class DamagedFailedAppendMarkerTests : IDisposable
{
    private readonly StateFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task MarkerThatDoesNotHoldAnOffset_IsMovedAsideAndReported_AndTheTornTailIsStillCut()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using (StatePersistenceService first = await _fixture.OpenAsync())
        {
            await first.AppendSessionLogAsync("s1", "one\n", ct);
            await first.AppendSessionLogAsync("s1", "two\n", ct);
        }

        string log = _fixture.File("logs", "session_s1.log");
        string marker = log + SessionLogs.FailedMarkerSuffix;
        byte[] garbage = Encoding.ASCII.GetBytes("4\u00002x7");
        await File.WriteAllBytesAsync(marker, garbage, ct);
        await using (FileStream torn = File.Open(log, FileMode.Append))
        {
            torn.Write("not a frame"u8);
        }

        StatePersistenceService second = _fixture.Create();
        await using (second)
        {
            var raised = new List<QuarantinedFile>();
            second.CorruptionDetected += (_, e) => raised.Add(e.File);
            await second.StartAsync(ct);

            RecoveryReport report = second.LastRecovery!;
            QuarantinedFile moved = Assert.Single(report.Quarantined, q => q.OriginalPath == marker);
            Assert.False(File.Exists(marker));
            Assert.StartsWith(Path.GetFileName(marker) + StateLayout.CorruptMarker, Path.GetFileName(moved.QuarantinePath), StringComparison.Ordinal);
            Assert.Equal(garbage, await File.ReadAllBytesAsync(moved.QuarantinePath, ct));
            Assert.Contains(raised, q => q.OriginalPath == marker);
            Assert.Contains(report.Warnings, w => w.Contains(moved.QuarantinePath, StringComparison.Ordinal));
            Assert.True(report.CorruptionDetected);

            // The torn tail is cut as it was before: the two acknowledged appends are served, nothing else.
            Assert.Single(report.DroppedSessionLogBytes);
            Assert.Equal("one\ntwo\n", await second.ReadSessionLogAsync("s1", ct));
        }
    }
}
