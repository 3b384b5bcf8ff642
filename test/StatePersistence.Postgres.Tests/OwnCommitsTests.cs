using Npgsql;
using StatePersistence.Postgres.Changes;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Serialization;
using StatePersistence.Storage;
using ChangeFeed = StatePersistence.Postgres.Changes.ChangeFeed;

namespace StatePersistence.Postgres.Tests;

/// <summary>An instance's feed builds its own groups from what its writer committed, and reads everyone else's.</summary>
public sealed class OwnCommitsTests
{
    /// <summary>
    /// The bodies of the change rows are overwritten behind the store's back: the writer's own feed still delivers what
    /// the writer committed (so it did not read them), at its place in the feed; another instance's feed reads the rows.
    /// </summary>
    [Fact]
    public async Task OwnGroups_AreBuiltFromWhatWasCommitted_NotReadBack_AndKeepTheirPlaceInTheFeed()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using Store store = await Store.CreateAsync(ct);
        await using NpgsqlDataSource other = PostgresServer.NewDataSource();
        var otherWriter = new GroupWriter(other, store.Schema, new ChangeRows(new StorePayloads(), store.Schema));
        long first = await store.PutAsync("mine", ExpectedRevision.Absent, "written");
        CommitOutcome theirs = await otherWriter.AppendAsync([Store.Put("theirs", ExpectedRevision.Absent, "written")], Durability.Full, ct);
        long second = await store.PutAsync("mine2", ExpectedRevision.Absent, "written");
        Assert.Equal(2, store.Own.Count);

        await using (NpgsqlCommand tamper = PostgresServer.DataSource.CreateCommand(
            $"UPDATE {store.Schema}.changes SET body = jsonb_set(body, '{{description}}', '\"tampered\"')"))
        {
            Assert.Equal(3, await tamper.ExecuteNonQueryAsync(ct));
        }

        IReadOnlyList<CommittedGroup> mine = await store.Feed.ReadAsync(0, 100, ct);
        Assert.Equal([(1L, first, "mine"), (2L, theirs.Revision, "theirs"), (3L, second, "mine2")],
            mine.Select(g => (g.Position, g.Revision, g.Changes[0].Id)));
        Assert.Equal(["written", "tampered", "written"], mine.Select(g => Description(g)));
        Assert.Equal([true, false, true], mine.Select(g => g.Own));

        var otherFeed = new ChangeFeed(other, store.Schema, new ChangeRows(new StorePayloads(), store.Schema));
        IReadOnlyList<CommittedGroup> readElsewhere = await otherFeed.ReadAsync(0, 100, ct);
        Assert.Equal(["tampered", "tampered", "tampered"], readElsewhere.Select(g => Description(g)));
        Assert.All(readElsewhere, g => Assert.False(g.Own));
    }

    [Fact]
    public async Task AFollowerDropsOwnGroupsOnceDelivered_AndAFailedCommitLeavesNone()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using Store store = await Store.CreateAsync(ct);
        await store.PutAsync("a", ExpectedRevision.Absent);
        await store.PutAsync("b", ExpectedRevision.Absent);
        Assert.Equal(2, store.Own.Count);

        using var reading = CancellationTokenSource.CreateLinkedTokenSource(ct);
        reading.CancelAfter(TimeSpan.FromMinutes(1));
        await using (IAsyncEnumerator<CommittedGroup> follower = store.Feed.SubscribeAsync(0, TimeSpan.FromMinutes(10), reading.Token).GetAsyncEnumerator(reading.Token))
        {
            Assert.True(await follower.MoveNextAsync());
            Assert.True(await follower.MoveNextAsync());
            Assert.Equal("b", follower.Current.Changes[0].Id);
            Assert.True(follower.Current.Own);
        }

        Assert.Equal(0, store.Own.Count);

        // A commit whose last batch (the writes and the COMMIT) fails registers nothing: a trigger refuses the change row.
        await using (NpgsqlCommand refuse = PostgresServer.DataSource.CreateCommand($"""
            CREATE FUNCTION {store.Schema}.refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
            CREATE TRIGGER refuse BEFORE INSERT ON {store.Schema}.changes FOR EACH ROW EXECUTE FUNCTION {store.Schema}.refuse();
            """))
        {
            await refuse.ExecuteNonQueryAsync(ct);
        }

        PostgresException refused = await Assert.ThrowsAsync<PostgresException>(() =>
            store.Writer.AppendAsync([Store.Put("c", ExpectedRevision.Absent)], Durability.Full, ct));
        Assert.Contains("refused by the test", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0, store.Own.Count);
    }

    /// <summary>
    /// A subscriber of the writing instance gets the groups its writer committed (and numbered) without reading the
    /// table: its notification is its own, and the group is in OwnCommits at the next position. Another writer's commit
    /// is read, and so is a position missing before one of its own (here a change numbered without a notification,
    /// as a commit whose notification was lost would leave it); every group comes once, in feed order.
    /// </summary>
    [Fact]
    public async Task OwnCommits_ReachTheSubscriberWithoutATableRead_OthersAndMissingPositionsAreRead()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using Store store = await Store.CreateAsync(ct);
        await using NpgsqlDataSource other = PostgresServer.NewDataSource();
        var otherWriter = new GroupWriter(other, store.Schema, new ChangeRows(new StorePayloads(), store.Schema));
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(ct);
        reading.CancelAfter(TimeSpan.FromMinutes(1));

        // A poll interval far beyond the test: whatever is read, is read because the feed decided it must.
        await using IAsyncEnumerator<CommittedGroup> subscriber = store.Feed.SubscribeAsync(0, TimeSpan.FromMinutes(10), reading.Token)
            .GetAsyncEnumerator(reading.Token);
        ValueTask<bool> first = subscriber.MoveNextAsync();
        long a = await store.PutAsync("a", ExpectedRevision.Absent);
        Assert.True(await first);
        long readsAfterTheFirst = store.Feed.TableReads;
        long b = await store.PutAsync("b", ExpectedRevision.Absent);
        Assert.True(await subscriber.MoveNextAsync());
        long c = await store.PutAsync("c", ExpectedRevision.Absent);
        Assert.True(await subscriber.MoveNextAsync());
        Assert.Equal(("c", 3L, c), (subscriber.Current.Changes[0].Id, subscriber.Current.Position, subscriber.Current.Revision));
        Assert.Equal(0, store.Own.Count);

        // The subscriber waits (the notifications of b and c reach it meanwhile) until the other writer commits: that
        // commit is the one read since the first.
        ValueTask<bool> next = subscriber.MoveNextAsync();
        CommitOutcome theirs = await otherWriter.AppendAsync([Store.Put("theirs", ExpectedRevision.Absent)], Durability.Full, ct);
        Assert.True(await next);
        Assert.Equal(("theirs", 4L, theirs.Revision), (subscriber.Current.Changes[0].Id, subscriber.Current.Position, subscriber.Current.Revision));
        Assert.Equal(readsAfterTheFirst + 1, store.Feed.TableReads);

        // Position 5 given without a notification; ours then takes 6, and the subscriber must not skip 5.
        await using (NpgsqlCommand silent = PostgresServer.DataSource.CreateCommand($"""
            INSERT INTO {store.Schema}.changes (revision, ordinal, kind, id, body, position, numbered_at)
            VALUES (nextval('{store.Schema}.revisions'), 0, 'task', 'silent', $1::jsonb, 5, now())
            """))
        {
            silent.Parameters.AddWithValue("""{"id": "silent"}""");
            await silent.ExecuteNonQueryAsync(ct);
        }

        long d = await store.PutAsync("d", ExpectedRevision.Absent);
        Assert.True(await subscriber.MoveNextAsync());
        Assert.Equal(("silent", 5L), (subscriber.Current.Changes[0].Id, subscriber.Current.Position));
        Assert.True(await subscriber.MoveNextAsync());
        Assert.Equal(("d", 6L, d), (subscriber.Current.Changes[0].Id, subscriber.Current.Position, subscriber.Current.Revision));
        Assert.True(a < b && b < c);
    }

    /// <summary>
    /// A delivery drops every entry positioned before it, however many (a reader catching up delivers thousands), and
    /// nothing after it; an entry without a position stays until its revision is delivered.
    /// </summary>
    [Fact]
    public void ADelivery_DropsEveryEntryBeforeIt_AndNoneAfter()
    {
        var own = new OwnCommits();
        for (long revision = 1; revision <= 1000; revision++)
        {
            own.Register(revision, [], position: revision + 10);
        }

        own.Register(5000, [], position: null);
        own.Delivered(revision: 600, position: 610);

        Assert.Equal(401, own.Count);
        Assert.Null(own.At(609));
        Assert.Null(own.At(610));
        Assert.Equal(601, own.At(611)?.Revision);
        Assert.Equal(1000, own.At(1010)?.Revision);

        // Registered again at a later position: the delivery of an earlier one leaves it.
        own.Register(601, [], position: 2000);
        own.Delivered(revision: 700, position: 710);
        Assert.Equal(601, own.At(2000)?.Revision);
        Assert.Null(own.At(611));
        Assert.Equal(302, own.Count);
        Assert.Equal(2000, own.HighestPosition);
    }

    private static string Description(CommittedGroup group) =>
        System.Text.Json.JsonDocument.Parse(group.Changes[0].Json!).RootElement.GetProperty("description").GetString()!;
}
