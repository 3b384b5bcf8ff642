using StatePersistence.Commit;
using StatePersistence.Storage;

namespace StatePersistence.Tests.Storage;

/// <summary>The one-writer change feed stays bounded: by groups and by the bytes of the values it keeps alive.</summary>
public sealed class ChangeFeedTests
{
    [Fact]
    public void BeyondItsGroupCapacity_TheOldestAreForgotten_AndAReadThatFarBackIsAGap()
    {
        var feed = new ChangeFeed(10, "test", capacity: 2);
        feed.Publish([Group(11, 1), Group(12, 1), Group(13, 1)]);

        Assert.Equal([12L, 13L], feed.Read(11).Select(g => g.Revision));
        ChangeFeedGapException gap = Assert.Throws<ChangeFeedGapException>(() => feed.Read(10));
        Assert.Equal((10, 11), (gap.AfterRevision, gap.OldestHeld));
    }

    [Fact]
    public void BeyondItsByteBudget_TheOldestAreForgotten_ButTheNewestIsAlwaysHeld()
    {
        var feed = new ChangeFeed(0, "test", capacity: 100, maxBytes: 1000);
        feed.Publish([Group(1, 600), Group(2, 600)]);
        Assert.Equal(2, Assert.Single(feed.Read(1)).Revision);

        feed.Publish([Group(3, 5000)]);
        Assert.Equal(3, Assert.Single(feed.Read(2)).Revision);
        Assert.Throws<ChangeFeedGapException>(() => feed.Read(1));
    }

    [Fact]
    public void ForgetThrough_DropsWhatACheckpointCovers()
    {
        var feed = new ChangeFeed(0, "test");
        feed.Publish([Group(1, 1), Group(2, 1), Group(3, 1)]);

        feed.ForgetThrough(2);

        Assert.Equal(3, Assert.Single(feed.Read(2)).Revision);
        Assert.Throws<ChangeFeedGapException>(() => feed.Read(1));
    }

    private static CommittedGroup Group(long revision, int bytes) =>
        new(revision, [new StateChange(ChangeKind.SetStateExtras, "", new byte[bytes])]);
}
