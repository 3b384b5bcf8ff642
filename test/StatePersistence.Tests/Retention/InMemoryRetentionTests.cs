using System.Text;
using StatePersistence.InMemory;
using StatePersistence.Retention;
using StatePersistence.Storage;

namespace StatePersistence.Tests.Retention;

/// <summary>
/// The in-memory store's retention beyond the conformance suite: what it does as an object store would, where the
/// suite cannot force the interleaving on every store.
/// </summary>
public sealed class InMemoryRetentionTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>
    /// A report saved again after it was read and judged expired is another object: the delete names the one judged,
    /// so the new one stays as saved. Red when the delete names only the id.
    /// </summary>
    [Fact]
    public async Task AReportSavedAgainWhileJudged_IsKeptAsSaved()
    {
        await using var store = new InMemoryStateStore();
        await store.OpenAsync(Ct);
        await store.SaveReportAsync("r1", """{"created_at":"2020-01-01T00:00:00Z"}"""u8.ToArray(), Durability.Full, Ct);
        byte[] again = """{"created_at":"2030-01-01T00:00:00Z"}"""u8.ToArray();

        long? freed = await ((IRetentionStore)store).ExpireReportAsync("r1", json =>
        {
            // Another writer saves the report between the read and the delete.
            store.SaveReportAsync("r1", again, Durability.Full, Ct).AsTask().GetAwaiter().GetResult();
            return true;
        }, Durability.Full, Ct);

        Assert.Null(freed);
        Assert.Equal(Encoding.UTF8.GetString(again), Encoding.UTF8.GetString((await store.LoadReportAsync("r1", Ct))!));
    }

    /// <summary>
    /// Appends made while a log is capped land in the live log after the mark, never in a part, and a dropped part
    /// takes only its own appends: 8 writers append while passes rotate with one part kept, and every append is either
    /// still readable, in order, or was in a part counted as freed.
    /// </summary>
    [Fact]
    public async Task AppendsDuringRotations_AreKeptInOrder_OrFreedWithTheirPart()
    {
        await using var store = new InMemoryStateStore();
        await store.OpenAsync(Ct);
        var retention = (IRetentionStore)store;
        const int Writers = 8;
        const int AppendsEach = 2_000;
        Task[] writers = [.. Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            for (int i = 0; i < AppendsEach; i++)
            {
                await store.AppendSessionLogAsync("s1", Encoding.UTF8.GetBytes($"{w}:{i:D4}\n"), Durability.Full, Ct);
            }
        }, Ct))];

        long freed = 0;
        while (!writers.All(t => t.IsCompleted))
        {
            freed += (await retention.CapSessionLogAsync("s1", 40, 1, Durability.Full, Ct))?.BytesFreed ?? 0;
            await Task.Yield();
        }

        await Task.WhenAll(writers);
        string[] kept = Encoding.UTF8.GetString((await store.ReadSessionLogAsync("s1", Ct))!).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        long keptStored = store.Storage.AllBytes().Sum(b => (long)b.Length);

        // Each writer's appends that are kept are its newest ones, in its order: a part is only ever dropped whole, oldest first.
        foreach (IGrouping<string, string> writer in kept.GroupBy(line => line.Split(':')[0]))
        {
            int[] numbers = [.. writer.Select(line => int.Parse(line.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture))];
            Assert.Equal(Enumerable.Range(AppendsEach - numbers.Length, numbers.Length), numbers);
        }

        // Every append is stored at the same size (7 bytes of text in its envelope): the bytes freed and the bytes still
        // stored are every append's, none counted twice or lost between a part and the live log.
        await using var one = new InMemoryStateStore();
        await one.OpenAsync(Ct);
        await one.AppendSessionLogAsync("s1", "0:0000\n"u8.ToArray(), Durability.Full, Ct);
        long appendStored = one.Storage.AllBytes().Sum(b => (long)b.Length);
        Assert.Equal(Writers * AppendsEach * appendStored, freed + keptStored);
        Assert.Equal(keptStored / appendStored, kept.Length);
    }
}
