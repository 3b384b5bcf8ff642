using System.Collections.Concurrent;
using Npgsql;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests;

public sealed class ChangeWriterTests
{
    [Fact]
    public async Task CreateOfAnExistingItem_ConflictsWithTheCurrentRevision_AndChangesNothing()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using Store store = await Store.CreateAsync(ct);
        long first = await store.PutAsync("a", ExpectedRevision.Absent, "v1");

        CommitOutcome again = await store.Writer.AppendAsync([Store.Put("a", ExpectedRevision.Absent, "v2")], Durability.Full, ct);

        ItemConflict conflict = Assert.Single(again.Conflicts);
        Assert.Equal(("a", (long?)first), (conflict.Id, conflict.CurrentRevision));
        Assert.Equal((first, "v1"), await store.LoadAsync("a"));
    }

    [Fact]
    public async Task GroupWithOneConflictingChange_CommitsNothing_AndTakesNoRevision()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using Store store = await Store.CreateAsync(ct);
        long a = await store.PutAsync("a", ExpectedRevision.Any);

        CommitOutcome outcome = await store.Writer.AppendAsync(
            [Store.Put("b", ExpectedRevision.Absent), Store.Put("a", ExpectedRevision.Exactly(a + 100)), Store.Delete("a", ExpectedRevision.Any)],
            Durability.Full, ct);

        ItemConflict conflict = Assert.Single(outcome.Conflicts);
        Assert.Equal(("a", (long?)a), (conflict.Id, conflict.CurrentRevision));
        Assert.Empty(await store.Feed.ReadAsync(1, 100, ct));
        Assert.Null(await store.LoadAsync("b"));
        Assert.Equal(a + 1, await store.PutAsync("b", ExpectedRevision.Absent));
    }

    /// <summary>
    /// A call of two groups, the first of three changes: each group has one revision (the second's higher), every row
    /// it wrote carries it, and the call costs two round trips to the database, counted by Npgsql's own metrics for a
    /// pool of its own: the start, the locks and the reads; then the feed's lock, the one statement writing every change
    /// (which takes the revisions and the positions), the notification and the commit. It was three while the revisions
    /// had a round trip of their own.
    /// </summary>
    [Fact]
    public async Task ACallOfSeveralGroups_TakesOneRevisionPerGroupInItsWrites_InTwoRoundTrips()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using Store store = await Store.CreateAsync(ct);
        long a = await store.PutAsync("a", ExpectedRevision.Absent);
        await using CountedWriter counted = await CountedWriter.CreateAsync(store, ct);
        CommitOutcome[] outcomes = await counted.Writer.AppendAsync(
            [[Store.Put("b", ExpectedRevision.Absent), Store.Put("c", ExpectedRevision.Absent), Store.Delete("a", ExpectedRevision.Exactly(a))],
             [Store.Put("b", ExpectedRevision.Any, "again")]], Durability.Full, ct);
        Assert.Equal(2, counted.RoundTrips);

        (long first, long second) = (outcomes[0].Revision, outcomes[1].Revision);
        Assert.True(a < first && first < second, $"{a} {first} {second}");
        Assert.All(outcomes[0].Changes.Where(c => c.Item is not null), c => Assert.Equal(first, c.Item!.Revision));
        Assert.Equal(second, outcomes[1].Changes[0].Item!.Revision);
        await using NpgsqlCommand logged = PostgresServer.DataSource.CreateCommand(
            $"SELECT revision, ordinal, id FROM {store.Schema}.changes WHERE revision >= {first} ORDER BY revision, ordinal");
        var rows = new List<(long, int, string)>();
        await using (NpgsqlDataReader reader = await logged.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                rows.Add((reader.GetInt64(0), reader.GetInt32(1), reader.GetString(2)));
            }
        }

        Assert.Equal([(first, 0, "b"), (first, 1, "c"), (first, 2, "a"), (second, 0, "b")], rows);
        Assert.Equal((second, "again"), await store.LoadAsync("b"));
        Assert.Equal((first, "d"), await store.LoadAsync("c"));
        Assert.Null(await store.LoadAsync("a"));
    }

    /// <summary>
    /// Saves that expect no revision (a plain save) have nothing to check: the call is one round trip, the locks riding
    /// with the writes, and its groups still take increasing revisions and reach the feed.
    /// </summary>
    [Fact]
    public async Task ACallThatExpectsNoRevision_IsOneRoundTrip()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using Store store = await Store.CreateAsync(ct);
        long a = await store.PutAsync("a", ExpectedRevision.Absent);
        await using CountedWriter counted = await CountedWriter.CreateAsync(store, ct);

        CommitOutcome[] outcomes = await counted.Writer.AppendAsync(
            [[Store.Put("a", ExpectedRevision.Any, "again"), Store.Delete("gone", ExpectedRevision.Any)], [Store.Put("b", ExpectedRevision.Any)]],
            Durability.Full, ct);

        Assert.Equal(1, counted.RoundTrips);
        Assert.True(a < outcomes[0].Revision && outcomes[0].Revision < outcomes[1].Revision, $"{a} {outcomes[0].Revision} {outcomes[1].Revision}");
        Assert.Equal((outcomes[0].Revision, "again"), await store.LoadAsync("a"));
        Assert.Equal([outcomes[0].Revision, outcomes[1].Revision], (await store.Feed.ReadAsync(1, 100, ct)).Select(g => g.Revision).Skip(1));
    }

    /// <summary>
    /// One statement writes every change of a call: an item changed by several groups keeps the last group's change
    /// (put, then deleted, then put again; put, then deleted), a group of no changes takes a revision but no feed
    /// position, and the positions the call gives are dense and follow the revisions.
    /// </summary>
    [Fact]
    public async Task ACallChangingOneItemInSeveralGroups_KeepsTheLastChange_AndNumbersDensely()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using Store store = await Store.CreateAsync(ct);
        long before = await store.PutAsync("x", ExpectedRevision.Absent);

        CommitOutcome[] outcomes = await store.Writer.AppendAsync(
            [[Store.Put("x", ExpectedRevision.Any, "x1")], [], [Store.Delete("x", ExpectedRevision.Any), Store.Put("y", ExpectedRevision.Any, "y1")],
             [Store.Put("x", ExpectedRevision.Any, "x2"), Store.Delete("y", ExpectedRevision.Any)]], Durability.Full, ct);

        long[] revisions = [.. outcomes.Select(o => o.Revision)];
        Assert.True(before < revisions[0] && revisions[0] < revisions[1] && revisions[1] < revisions[2] && revisions[2] < revisions[3], string.Join(" ", revisions));
        Assert.Equal((revisions[3], "x2"), await store.LoadAsync("x"));
        Assert.Null(await store.LoadAsync("y"));
        IReadOnlyList<CommittedGroup> feed = await store.Feed.ReadAsync(0, 100, ct);
        Assert.Equal([before, revisions[0], revisions[2], revisions[3]], feed.Select(g => g.Revision));
        Assert.Equal([1L, 2, 3, 4], feed.Select(g => g.Position));
        Assert.Equal(["x", "y"], feed[3].Changes.Select(c => c.Id));
    }

    [Fact]
    public async Task RevisionsOfAnItem_IncreaseWithEachChange_AndDeletedStaysDeleted()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using Store store = await Store.CreateAsync(ct);
        long r1 = await store.PutAsync("a", ExpectedRevision.Absent);
        long r2 = await store.PutAsync("a", ExpectedRevision.Exactly(r1));
        CommitOutcome deleted = await store.Writer.AppendAsync([Store.Delete("a", ExpectedRevision.Exactly(r2))], Durability.Full, ct);
        Assert.Null(await store.LoadAsync("a"));
        long r4 = await store.PutAsync("a", ExpectedRevision.Absent);

        Assert.True(deleted.Committed);
        Assert.True(r1 < r2 && r2 < deleted.Revision && deleted.Revision < r4, $"{r1} {r2} {deleted.Revision} {r4}");
        CommitOutcome stale = await store.Writer.AppendAsync([Store.Put("a", ExpectedRevision.Exactly(r2))], Durability.Full, ct);
        Assert.Equal(r4, Assert.Single(stale.Conflicts).CurrentRevision);
    }

    [Fact]
    public async Task InstancesUpdatingOneItemConcurrently_ExactlyOneWinsPerRevision()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using Store store = await Store.CreateAsync(ct);
        long start = await store.PutAsync("counter", ExpectedRevision.Absent, "0");
        var winners = new ConcurrentDictionary<long, int>();

        // Eight writers, each a read-modify-write loop on one item with the revision it read: no update may be lost.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            for (int done = 0; done < 10;)
            {
                (long revision, string count) = (await store.LoadAsync("counter"))!.Value;
                string next = (int.Parse(count, System.Globalization.CultureInfo.InvariantCulture) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
                CommitOutcome outcome = await store.Writer.AppendAsync([Store.Put("counter", ExpectedRevision.Exactly(revision), next)], Durability.Full, ct);
                // A conflict means another writer won over this revision: read again and retry.
                if (outcome.Committed)
                {
                    Assert.True(winners.TryAdd(revision, w), $"two writers won over revision {revision}");
                    done++;
                }
            }
        }, ct)));

        Assert.Equal("80", (await store.LoadAsync("counter"))!.Value.Description);
        Assert.Equal(80, winners.Count);
        Assert.Contains(start, winners.Keys);
    }

    [Fact]
    public async Task BlindWritesOfOneItemFromManyWriters_EachGetsItsOwnIncreasingRevision()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using Store store = await Store.CreateAsync(ct);
        var accepted = new ConcurrentBag<long>();

        await Task.WhenAll(Enumerable.Range(0, 6).Select(w => Task.Run(async () =>
        {
            for (int i = 0; i < 15; i++)
            {
                accepted.Add(await store.PutAsync("shared", ExpectedRevision.Any, $"{w}-{i}"));
            }
        }, ct)));

        // No write is lost silently: every accepted one has a revision of its own, and the last one is what is stored.
        Assert.Equal(90, accepted.Distinct().Count());
        Assert.Equal(accepted.Max(), (await store.LoadAsync("shared"))!.Value.Revision);
        IReadOnlyList<CommittedGroup> feed = await store.Feed.ReadAllAsync(0, ct);
        Assert.Equal(accepted.Order(), feed.Select(g => g.Revision));
    }
    /// <summary>
    /// The codec changes while the store runs (a key file reloaded, a key made active). A writer that read "clear" when
    /// it chose to write blind and "sealed" when it wrote took its revision before it locked the item, outside any
    /// transaction: another writer of the item could commit a later revision first, and this one's earlier revision
    /// then landed over it, the item's revisions going backwards. The key provider here turns "sealed" after its first
    /// answer and holds its third (the write of the rows, after such a revision was taken) until another writer committed.
    /// </summary>
    [Fact]
    public async Task AKeyMadeActiveDuringABlindWrite_NeverTakesARevisionBeforeTheItemIsLocked()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using Store store = await Store.CreateAsync(ct);
        var keys = new KeyMadeActiveAfterTheFirstLook();
        var writer = new Changes.GroupWriter(PostgresServer.DataSource, store.Schema,
            new Changes.ChangeRows(new StorePayloads(new Encryption.AesGcmCodec(keys)), store.Schema), own: null);

        Task<CommitOutcome> blind = Task.Run(async () => await writer.AppendAsync([Store.Put("a", ExpectedRevision.Any, "blind")], Durability.Full, ct), ct);
        long other;
        if (await Task.WhenAny(keys.Held, blind) == keys.Held)
        {
            other = await store.PutAsync("a", ExpectedRevision.Any, "other");
            keys.Release();
        }
        else
        {
            other = await store.PutAsync("a", ExpectedRevision.Any, "other");
        }

        CommitOutcome outcome = await blind;
        Assert.True(outcome.Committed);
        long last = Math.Max(outcome.Revision, other);
        await using NpgsqlCommand revision = PostgresServer.DataSource.CreateCommand($"SELECT revision FROM {store.Schema}.items WHERE kind = 'task' AND id = 'a'");
        Assert.Equal(last, (long)(await revision.ExecuteScalarAsync(ct))!);
    }

    /// <summary>A key ring with no active key at the first call and an active key after; the third call waits for <see cref="Release"/>.</summary>
    private sealed class KeyMadeActiveAfterTheFirstLook : Encryption.IEncryptionKeyProvider
    {
        private static readonly byte[] Material = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        private readonly Encryption.EncryptionKeyRing _clear = new([new Encryption.EncryptionKey("k1", Material, Encryption.EncryptionKeyState.Retired, DateTimeOffset.UnixEpoch)]);
        private readonly Encryption.EncryptionKeyRing _sealing = new([new Encryption.EncryptionKey("k1", Material, Encryption.EncryptionKeyState.Active, DateTimeOffset.UnixEpoch)]);
        private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ManualResetEventSlim _released = new();
        private int _calls;

        public Task Held => _held.Task;

        public void Release() => _released.Set();

        public Encryption.EncryptionKeyRing GetKeyRing()
        {
            int call = Interlocked.Increment(ref _calls);
            if (call == 3)
            {
                _held.TrySetResult();
                _released.Wait(TimeSpan.FromSeconds(30));
            }

            return call == 1 ? _clear : _sealing;
        }
    }
}
