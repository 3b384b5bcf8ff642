using StatePersistence.Commit;
using StatePersistence.Storage;

namespace StatePersistence.Conformance;

/// <summary>Commits, conflicts and revisions: the change log's core promises, across restarts.</summary>
/// <typeparam name="THarness">The store\'s harness.</typeparam>
public abstract class CommitConformanceTests<THarness> : StoreConformanceBase<THarness>
    where THarness : StoreHarness, new()
{
    /// <summary>
    /// With one writer, each committed group takes the next revision (no number is spent on a refused group); its
    /// changes carry it as their revision, in the JSON too.
    /// </summary>
    [Fact]
    public async Task Append_CommitsEachGroupAtTheNextRevision()
    {
        (IStateStore store, StateView loaded) = await OpenAsync();
        await using (store)
        {
            IReadOnlyList<CommitOutcome> outcomes = await store.AppendAsync(
                [[PutTask("t1")], [PutTask("t2"), PutSession("s1")]], Durability.Full, Ct);

            Assert.Equal([loaded.Revision + 1, loaded.Revision + 2], outcomes.Select(o => o.Revision));
            Assert.All(outcomes, o => Assert.True(o.Committed));
            StoredItem t2 = Assert.IsType<StoredItem>(outcomes[1].Changes[0].Item);
            Assert.Equal(loaded.Revision + 2, t2.Revision);
            Assert.Equal(loaded.Revision + 2, JsonRevision(t2));
        }
    }

    /// <summary>A group with one unmet expectation commits nothing; later groups of the same call still commit.</summary>
    [Fact]
    public async Task Append_GroupWithOneConflictingChange_CommitsNothingOfIt()
    {
        (IStateStore store, _) = await OpenAsync();
        long t1;
        await using (store)
        {
            t1 = (await CommitAsync(store, PutTask("t1", "first"))).Revision;
            IReadOnlyList<CommitOutcome> outcomes = await store.AppendAsync(
            [
                [PutTask("t2", "must not exist", ExpectedRevision.Absent), PutTask("t1", "stale write", ExpectedRevision.Exactly(t1 + 7))],
                [PutTask("t3", "independent")],
            ], Durability.Full, Ct);

            Assert.False(outcomes[0].Committed);
            ItemConflict conflict = Assert.Single(outcomes[0].Conflicts);
            Assert.Equal(("t1", (long?)t1), (conflict.Id, conflict.CurrentRevision));
            Assert.True(outcomes[1].Committed);
            Assert.Equal(t1 + 1, outcomes[1].Revision);
        }

        StateView after = await ReopenAsync();
        Assert.False(after.Tasks.ContainsKey("t2"));
        Assert.Equal("first", Description(after.Tasks["t1"]));
        Assert.Equal(t1, after.Tasks["t1"].Revision);
        Assert.True(after.Tasks.ContainsKey("t3"));
    }

    /// <summary>Expectations are checked against the groups committed before them in the same call.</summary>
    [Fact]
    public async Task Append_ExpectationsSeeEarlierGroupsOfTheSameCall()
    {
        (IStateStore store, _) = await OpenAsync();
        await using (store)
        {
            IReadOnlyList<CommitOutcome> outcomes = await store.AppendAsync(
                [[PutTask("t1", "a", ExpectedRevision.Absent)], [PutTask("t1", "b", ExpectedRevision.Absent)]], Durability.Full, Ct);

            Assert.True(outcomes[0].Committed);
            Assert.Equal(outcomes[0].Revision, Assert.Single(outcomes[1].Conflicts).CurrentRevision);

            CommitOutcome next = await CommitAsync(store, PutTask("t1", "c", ExpectedRevision.Exactly(outcomes[0].Revision)));
            IReadOnlyList<CommitOutcome> stale = await store.AppendAsync(
                [[DeleteTask("t1", ExpectedRevision.Exactly(outcomes[0].Revision))]], Durability.Full, Ct);
            Assert.Equal(next.Revision, Assert.Single(Assert.Single(stale).Conflicts).CurrentRevision);
        }
    }

    /// <summary>Revisions are kept across a restart and never reused, even when the last change was a deletion.</summary>
    [Fact]
    public async Task Revisions_SurviveRestart_AndNeverGoBackwards()
    {
        (IStateStore store, _) = await OpenAsync();
        long t1, last;
        await using (store)
        {
            t1 = (await CommitAsync(store, PutTask("t1"))).Revision;
            await CommitAsync(store, PutTask("t2"));
            last = (await CommitAsync(store, DeleteTask("t2", ExpectedRevision.Exactly(t1 + 1)))).Revision;
        }

        (IStateStore reopened, StateView view) = await OpenAsync();
        await using (reopened)
        {
            Assert.Equal(last, view.Revision);
            Assert.Equal(t1, view.Tasks["t1"].Revision);
            Assert.Equal(t1, JsonRevision(view.Tasks["t1"]));
            Assert.Equal(last + 1, (await CommitAsync(reopened, PutTask("t3"))).Revision);
        }
    }

    /// <summary>A deleted item stays deleted after a restart.</summary>
    [Fact]
    public async Task Delete_StaysDeletedAfterRestart()
    {
        (IStateStore store, _) = await OpenAsync();
        await using (store)
        {
            long t1 = (await CommitAsync(store, PutTask("t1"), PutSession("s1"))).Revision;
            await CommitAsync(store, DeleteTask("t1", ExpectedRevision.Exactly(t1)), new StateChange(ChangeKind.DeleteSession, "s1", null));
        }

        StateView view = await ReopenAsync();
        Assert.Empty(view.Tasks);
        Assert.Empty(view.Sessions);
    }

    /// <summary>
    /// Reading after a position returns every later group, in order, with its changes and revisions; positions are
    /// dense from where the loaded state ends.
    /// </summary>
    [Fact]
    public async Task ReadChanges_ReturnsEveryLaterGroupInOrder()
    {
        (IStateStore store, RecoveredState loaded) = await OpenRecoveredAsync();
        await using (store)
        {
            long first = (await CommitAsync(store, PutTask("t1"))).Revision;
            long second = (await CommitAsync(store, PutTask("t2"), PutTask("t3"))).Revision;
            long third = (await CommitAsync(store, DeleteTask("t1"))).Revision;

            IReadOnlyList<CommittedGroup> all = await store.ReadChangesAsync(loaded.Position, Ct);
            Assert.Equal([loaded.Position + 1, loaded.Position + 2, loaded.Position + 3], all.Select(g => g.Position));
            Assert.Equal([first, second, third], all.Select(g => g.Revision));
            Assert.Equal(["t2", "t3"], all[1].Changes.Select(c => c.Id));
            Assert.Equal(ChangeKind.DeleteTask, Assert.Single(all[2].Changes).Kind);

            IReadOnlyList<CommittedGroup> later = await store.ReadChangesAsync(all[1].Position, Ct);
            Assert.Equal(third, Assert.Single(later).Revision);
            Assert.Empty(await store.ReadChangesAsync(all[2].Position, Ct));
        }
    }

    /// <summary>A subscription gets the groups after its position, then each new commit as it happens.</summary>
    [Fact]
    public async Task Subscribe_SeesTheBacklogThenNewCommits()
    {
        (IStateStore store, RecoveredState loaded) = await OpenRecoveredAsync();
        await using (store)
        {
            long first = (await CommitAsync(store, PutTask("t1"))).Revision;
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            stop.CancelAfter(TimeSpan.FromSeconds(30));
            await using IAsyncEnumerator<CommittedGroup> feed = store.SubscribeAsync(loaded.Position, stop.Token).GetAsyncEnumerator(stop.Token);

            Assert.True(await feed.MoveNextAsync());
            Assert.Equal((first, loaded.Position + 1), (feed.Current.Revision, feed.Current.Position));

            ValueTask<bool> next = feed.MoveNextAsync();
            long second = (await CommitAsync(store, PutTask("t2"))).Revision;
            long third = (await CommitAsync(store, PutTask("t3"))).Revision;
            Assert.True(await next);
            Assert.Equal((second, "t2"), (feed.Current.Revision, feed.Current.Changes[0].Id));
            Assert.True(await feed.MoveNextAsync());
            Assert.Equal((third, loaded.Position + 3), (feed.Current.Revision, feed.Current.Position));
        }
    }
}
