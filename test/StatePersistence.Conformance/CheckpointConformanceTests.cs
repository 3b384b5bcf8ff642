using StatePersistence.Commit;
using StatePersistence.Storage;

namespace StatePersistence.Conformance;

/// <summary>For a store that declares <see cref="ICheckpointStore"/>: a checkpoint loses nothing and keeps revisions.</summary>
/// <typeparam name="THarness">The store\'s harness.</typeparam>
public abstract class CheckpointConformanceTests<THarness> : StoreConformanceBase<THarness>
    where THarness : StoreHarness, new()
{
    /// <summary>
    /// A checkpoint in the middle of a history, with commits after it: a restart finds the newest state, the same
    /// revisions, and the deletions (before and after the checkpoint) still deleted.
    /// </summary>
    [Fact]
    public async Task Checkpoint_ThenMoreCommits_RestartFindsTheSameState()
    {
        (IStateStore store, StateView view) = await OpenAsync();
        StateView expected;
        await using (store)
        {
            if (store is not ICheckpointStore checkpoints)
            {
                Assert.Skip($"{store.GetType().Name} does not declare ICheckpointStore: its log is its state, nothing to fold.");
                return;
            }

            view = await ApplyAsync(store, view, PutTask("t1"), PutTask("gone-before"), PutSession("s1"));
            view = await ApplyAsync(store, view, DeleteTask("gone-before"));
            await checkpoints.BeginCheckpointAsync(view.Revision, Ct);
            CheckpointResult result = await checkpoints.WriteCheckpointAsync(view, DateTimeOffset.UtcNow, Durability.Full, Ct);
            Assert.False(string.IsNullOrEmpty(result.Location));
            view = await ApplyAsync(store, view, PutTask("t2"), PutTask("gone-after"));
            view = await ApplyAsync(store, view, DeleteTask("gone-after"), PutTask("t1", "changed"));
            expected = view;
        }

        StateView after = await ReopenAsync();
        Assert.Equal(expected.Revision, after.Revision);
        Assert.Equal(expected.Tasks.Keys, after.Tasks.Keys);
        Assert.Equal(expected.Tasks.Values.Select(i => i.Revision), after.Tasks.Values.Select(i => i.Revision));
        Assert.Equal("changed", Description(after.Tasks["t1"]));
        Assert.Equal(expected.Sessions["s1"].Revision, after.Sessions["s1"].Revision);
    }
}
