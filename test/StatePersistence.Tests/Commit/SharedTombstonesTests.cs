using System.Text;
using StatePersistence.Commit;
using StatePersistence.Serialization;
using StatePersistence.Service.Commits;
using StatePersistence.Storage;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Commit;

/// <summary>
/// Over a shared store, a deletion leaves a tombstone so that an older put arriving after it cannot bring the item
/// back. One was kept for every deletion for as long as the process ran (about 100 bytes each, for ever, with task
/// churn); these tests pin when one may go, and that a wait for a revision of an item deleted since still ends once
/// its tombstone is gone.
/// </summary>
public sealed class SharedTombstonesTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    [Fact]
    public void DeletionsTheFeedDelivered_AreForgotten_BeyondTheNumberKept()
    {
        GroupCommitter committer = Committer(new ScriptedSharedStore(), kept: 2);

        for (int i = 1; i <= 10; i++)
        {
            string id = "task_" + i;
            committer.ApplyCommitted(new CommittedGroup(2 * i - 1, [Put(id, 2 * i - 1)]));
            committer.ApplyCommitted(new CommittedGroup(2 * i, [Delete(id)]));
        }

        Assert.Equal(2, committer.TombstoneCount);
        Assert.Empty(committer.Durable.Tasks);
    }

    [Fact]
    public async Task AnOwnDeletion_IsKeptUntilTheFeedDeliversIt()
    {
        var store = new ScriptedSharedStore();
        GroupCommitter committer = Committer(store, kept: 0);
        committer.ApplyCommitted(new CommittedGroup(1, [Put("task_a", 1)]));
        PendingCommit pending = committer.Enqueue((_, _) => [Delete("task_a")], 0, Durability.Full)!;
        ValueTask<long> written = committer.WaitAsync(pending);
        store.Answer(new CommitOutcome(2, [Delete("task_a")], []));
        Assert.Equal(2, await written.AsTask().WaitAsync(HangGuard, TestContext.Current.CancellationToken));

        // The feed has not brought the deletion yet, and may still bring the put at 1 before it.
        Assert.Equal(1, committer.TombstoneCount);
        committer.ApplyCommitted(new CommittedGroup(1, [Put("task_a", 1)]) { Own = true });
        Assert.Empty(committer.Durable.Tasks);

        committer.ApplyCommitted(new CommittedGroup(2, [Delete("task_a")]) { Own = true });
        Assert.Equal(0, committer.TombstoneCount);
    }

    [Fact]
    public async Task AnOwnPutInFlight_WhenTheFeedDeliversTheItemsDeletion_DoesNotBringTheItemBack()
    {
        var store = new ScriptedSharedStore();
        GroupCommitter committer = Committer(store, kept: 0);

        // This instance's put takes revision 5 and commits; another instance's deletion (revision 6) commits after it;
        // the feed delivers both before the store's answer to the put reaches the committer.
        PendingCommit pending = committer.Enqueue((_, _) => [Put("task_a", 0)], 0, Durability.Full)!;
        ValueTask<long> written = committer.WaitAsync(pending);
        await store.AppendEntered.WaitAsync(HangGuard, TestContext.Current.CancellationToken);
        committer.ApplyCommitted(new CommittedGroup(5, [Put("task_a", 5)]) { Own = true });
        committer.ApplyCommitted(new CommittedGroup(6, [Delete("task_a")]));
        Assert.Equal(1, committer.TombstoneCount);

        store.Answer(new CommitOutcome(5, [Put("task_a", 5)], []));
        Assert.Equal(5, await written.AsTask().WaitAsync(HangGuard, TestContext.Current.CancellationToken));

        Assert.False(committer.Durable.Tasks.ContainsKey("task_a"), "the put at 5 came back after its deletion at 6");
        Assert.Equal(0, committer.TombstoneCount);
    }

    [Fact]
    public async Task AWaitForARevisionOfAnItemDeletedSince_EndsWhenTheStoreNoLongerHoldsIt()
    {
        var store = new ScriptedSharedStore { StoredRevision = null };
        GroupCommitter committer = Committer(store, kept: 0);
        committer.ApplyCommitted(new CommittedGroup(5, [Put("task_a", 5)]));
        committer.ApplyCommitted(new CommittedGroup(6, [Delete("task_a")]));
        Assert.Equal(0, committer.TombstoneCount);

        await committer.WaitForItemAsync(task: true, "task_a", 5, TestContext.Current.CancellationToken).AsTask().WaitAsync(HangGuard, TestContext.Current.CancellationToken);

        Assert.Equal(1, store.ItemReads);
    }

    [Fact]
    public async Task AWaitForARevisionOfAnItemDeletedSince_WhenTheStoreHoldsItAgain_GoesOnUntilTheFeedBringsIt()
    {
        var store = new ScriptedSharedStore { StoredRevision = 8 };
        GroupCommitter committer = Committer(store, kept: 0);
        committer.ApplyCommitted(new CommittedGroup(5, [Put("task_a", 5)]));
        committer.ApplyCommitted(new CommittedGroup(6, [Delete("task_a")]));

        // The store answers synchronously, so the wait is past its question when the call returns.
        Task wait = committer.WaitForItemAsync(task: true, "task_a", 5, TestContext.Current.CancellationToken).AsTask();
        Assert.False(wait.IsCompleted, "the wait ended while the store held the item at a revision not applied here");
        committer.ApplyCommitted(new CommittedGroup(7, [Put("task_b", 7)]));
        Assert.False(wait.IsCompleted);

        committer.ApplyCommitted(new CommittedGroup(8, [Put("task_a", 8)]));
        await wait.WaitAsync(HangGuard, TestContext.Current.CancellationToken);
        Assert.Equal(1, store.ItemReads);
    }

    [Fact]
    public async Task AWaitForAnItemNotSeenYet_AboveEveryForgottenDeletion_WaitsForTheFeedWithoutAskingTheStore()
    {
        var store = new ScriptedSharedStore();
        GroupCommitter committer = Committer(store, kept: 0);
        committer.ApplyCommitted(new CommittedGroup(5, [Put("task_a", 5)]));
        committer.ApplyCommitted(new CommittedGroup(6, [Delete("task_a")]));

        Task wait = committer.WaitForItemAsync(task: true, "task_b", 9, TestContext.Current.CancellationToken).AsTask();
        Assert.False(wait.IsCompleted);
        committer.ApplyCommitted(new CommittedGroup(9, [Put("task_b", 9)]));
        await wait.WaitAsync(HangGuard, TestContext.Current.CancellationToken);

        Assert.Equal(0, store.ItemReads);
    }

    private static GroupCommitter Committer(ScriptedSharedStore store, int kept) =>
        new(store, StateView.Empty, ItemCodec.ToItem, CommitPipeline.Conflict, tombstonesKept: kept);

    private static StateChange Put(string id, long revision)
    {
        byte[] json = Encoding.UTF8.GetBytes($$"""{"id":"{{id}}","status":"pending","revision":{{revision}}}""");
        return new StateChange(ChangeKind.PutTask, id, json, ItemCodec.TaskItem(json));
    }

    private static StateChange Delete(string id) => new(ChangeKind.DeleteTask, id, null);
}
