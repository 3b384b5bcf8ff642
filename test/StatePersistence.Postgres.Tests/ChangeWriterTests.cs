using System.Collections.Concurrent;
using StatePersistence.Postgres.Changes;
using StatePersistence.Postgres.Tests.Support;

namespace StatePersistence.Postgres.Tests;

public sealed class ChangeWriterTests
{
    [Fact]
    public async Task CreateOfAnExistingItem_ConflictsWithTheCurrentItem()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using Store store = await Store.CreateAsync(ct);
        long first = await store.PutAsync("a", ExpectedRevision.Absent, """{"v":1}""");

        WriteOutcome again = await store.Writer.AppendAsync([Store.Put("a", ExpectedRevision.Absent, """{"v":2}""")], ct);

        WriteConflict conflict = Assert.Single(again.Conflicts);
        Assert.Equal(("a", first, """{"v": 1}"""), (conflict.Id, conflict.Revision, conflict.Body));
    }

    [Fact]
    public async Task GroupWithOneConflictingChange_CommitsNothing()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using Store store = await Store.CreateAsync(ct);
        long a = await store.PutAsync("a", ExpectedRevision.Any);

        WriteOutcome outcome = await store.Writer.AppendAsync(
            [Store.Put("b", ExpectedRevision.Absent), Store.Put("a", ExpectedRevision.Exactly(a + 100)), Store.Delete("a", ExpectedRevision.Any)], ct);

        WriteConflict conflict = Assert.Single(outcome.Conflicts);
        Assert.Equal(("a", a), (conflict.Id, conflict.Revision));
        Assert.Empty(await store.Feed.ReadAsync(1, 100, ct));
        WriteOutcome b = await store.Writer.AppendAsync([Store.Put("b", ExpectedRevision.Absent)], ct);
        Assert.True(b.Committed);
    }

    [Fact]
    public async Task RevisionsOfAnItem_IncreaseWithEachChange_AndDeletedStaysDeleted()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using Store store = await Store.CreateAsync(ct);
        long r1 = await store.PutAsync("a", ExpectedRevision.Absent);
        long r2 = await store.PutAsync("a", ExpectedRevision.Exactly(r1));
        WriteOutcome deleted = await store.Writer.AppendAsync([Store.Delete("a", ExpectedRevision.Exactly(r2))], ct);
        long r4 = await store.PutAsync("a", ExpectedRevision.Absent);

        Assert.True(deleted.Committed);
        Assert.True(r1 < r2 && r2 < deleted.Revisions[0] && deleted.Revisions[0] < r4, $"{r1} {r2} {deleted.Revisions[0]} {r4}");
        WriteOutcome stale = await store.Writer.AppendAsync([Store.Put("a", ExpectedRevision.Exactly(r2))], ct);
        Assert.Equal(r4, Assert.Single(stale.Conflicts).Revision);
    }

    [Fact]
    public async Task InstancesUpdatingOneItemConcurrently_ExactlyOneWinsPerRevision()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using Store store = await Store.CreateAsync(ct);
        long start = await store.PutAsync("counter", ExpectedRevision.Absent, """{"n":0}""");
        var winners = new ConcurrentDictionary<long, int>();

        // Eight writers, each a read-modify-write loop on one item with the revision it read: no update may be lost.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            for (int done = 0; done < 10;)
            {
                (long revision, string body) = (await store.Writer.LoadAsync("task", "counter", ct))!.Value;
                int next = System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("n").GetInt32() + 1;
                WriteOutcome outcome = await store.Writer.AppendAsync(
                    [Store.Put("counter", ExpectedRevision.Exactly(revision), $$"""{"n":{{next}}}""")], ct);
                // A conflict means another writer won over this revision: read again and retry.
                if (outcome.Committed)
                {
                    Assert.True(winners.TryAdd(revision, w), $"two writers won over revision {revision}");
                    done++;
                }
            }
        }, ct)));

        Assert.Equal("""{"n": 80}""", (await store.Writer.LoadAsync("task", "counter", ct))!.Value.Body);
        Assert.Equal(80, winners.Count);
        Assert.Contains(start, winners.Keys);
    }
}
