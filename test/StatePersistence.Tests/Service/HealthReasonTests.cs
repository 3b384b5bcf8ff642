using StatePersistence.Commit;
using StatePersistence.InMemory;
using StatePersistence.Recovery;
using StatePersistence.Service.Health;

namespace StatePersistence.Tests.Service;

/// <summary>What the health check says about journal damage the last start found.</summary>
public sealed class HealthReasonTests
{
    private const string Zeros = "the whole segment reads as zeros although a later segment was started after it: its header and any records it held were lost at rest";

    /// <summary>
    /// The disk-full audit's health description was about 10 KB: 37 damaged segments, one copy of the same sentence
    /// each, every range printed as <c>0..-1</c> (the segments were empty). One sentence per kind of damage names a few
    /// ranges and how many more there are; an empty range is printed as such.
    /// </summary>
    [Fact]
    public void ManySegmentsDamagedAlike_AreOneSentence_AndAnEmptyRangeIsNotPrintedAsZeroToMinusOne()
    {
        var report = new RecoveryReport();
        report.Lost.Add("Journal records 5..9 are missing.");
        report.DroppedJournalBytes.AddRange(Enumerable.Range(4, 37).Select(n => new DroppedByteRange($"/state/journal/{n:D10}.wal", 0, 0, Damage: true, Zeros)));
        report.DroppedJournalBytes.Add(new DroppedByteRange("/state/journal/0000000002.wal", 96, 40, Damage: true, "bytes between valid records fail their checks"));
        report.DroppedJournalBytes.Add(new DroppedByteRange("/state/journal/0000000003.wal", 128, 4000, Damage: false, "torn tail"));
        var tracker = new HealthTracker(new InMemoryStateStore(), TimeProvider.System);
        tracker.RecordRecovery(report);

        IReadOnlyList<string> reasons = tracker.Check(StateView.Empty, lowDiskSpaceBytes: 0).Reasons;

        string zeroed = Assert.Single(reasons, r => r.Contains(Zeros, StringComparison.Ordinal));
        Assert.StartsWith("Journal 0 bytes (at offset 0) of '/state/journal/0000000004.wal', 0 bytes (at offset 0) of '/state/journal/0000000005.wal', 0 bytes (at offset 0) of '/state/journal/0000000006.wal' and 34 more range(s)", zeroed, StringComparison.Ordinal);
        Assert.Contains("Journal bytes 96..135 of '/state/journal/0000000002.wal' were damaged and skipped: bytes between valid records fail their checks.", reasons);
        Assert.DoesNotContain(reasons, r => r.Contains("torn tail", StringComparison.Ordinal));
        Assert.DoesNotContain(reasons, r => r.Contains("..-1", StringComparison.Ordinal));
        Assert.True(string.Join(" ", reasons).Length < 1500, "the description stays short");
    }
}
