using System.Collections.Concurrent;
using StatePersistence.Encryption;
using StatePersistence.Model;
using static StatePersistence.Postgres.Tests.Reencryption.EncryptedSchema;

namespace StatePersistence.Postgres.Tests.Reencryption;

/// <summary>
/// The re-encryption's rewrite is conditional (the row still exactly as read: revision and bytes) and takes no
/// revision, so writers that keep writing while it runs, on the same instance or on another one, lose nothing: every
/// write is the row's value afterwards, with the revision its writer got, and untouched rows keep their revisions.
/// </summary>
public sealed class ConcurrentReencryptionTests
{
    private const int Tasks = 160;
    private const int Writers = 4;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task WritersOnTheSameInstance_WhileItReencrypts_LoseNothing()
    {
        await using EncryptedSchema schema = await CreateAsync();
        EncryptionKeyFile.Create(schema.KeyFile);
        (StatePersistenceService service, PostgresStateStore store) = await schema.OpenAsync(encrypted: true);
        await using (service)
        {
            Dictionary<string, long> before = await SaveTasksAsync(service);
            string newKey = EncryptionKeyOperations.Rotate(schema.KeyFile).Id;
            await WaitForActiveKeyAsync(store, newKey);

            long changes = await schema.ScalarAsync("SELECT count(*) FROM {0}.changes");

            (ConcurrentDictionary<string, AgentTask> last, int writes) = await WriteWhileAsync(service, () => service.ReencryptToEndAsync(Ct));

            // One change per write, none for the re-encryption.
            Assert.Equal(changes + writes, await schema.ScalarAsync("SELECT count(*) FROM {0}.changes"));
            await AssertNothingLostAsync(schema, service, before, last, newKey);
        }
    }

    [Fact]
    public async Task WritersOnOneInstance_WhileAnotherReencrypts_LoseNothing_AndBothKeepServing()
    {
        await using EncryptedSchema schema = await CreateAsync();
        EncryptionKeyFile.Create(schema.KeyFile);
        (StatePersistenceService a, PostgresStateStore storeA) = await schema.OpenAsync(encrypted: true);
        (StatePersistenceService b, PostgresStateStore storeB) = await schema.OpenAsync(encrypted: true);
        await using (a)
        await using (b)
        {
            Dictionary<string, long> before = await SaveTasksAsync(a);
            string newKey = EncryptionKeyOperations.Rotate(schema.KeyFile).Id;
            await WaitForActiveKeyAsync(storeA, newKey);
            await WaitForActiveKeyAsync(storeB, newKey);

            long changes = await schema.ScalarAsync("SELECT count(*) FROM {0}.changes");

            (ConcurrentDictionary<string, AgentTask> last, int writes) = await WriteWhileAsync(a, () => b.ReencryptToEndAsync(Ct));
            Assert.Equal(changes + writes, await schema.ScalarAsync("SELECT count(*) FROM {0}.changes"));

            // B follows A's writes through the feed; the re-encryption added nothing to it.
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            bounded.CancelAfter(TimeSpan.FromMinutes(1));
            foreach (AgentTask written in last.Values)
            {
                AgentTask onB = (await b.WaitForTaskAsync(written.Id, written.Revision, bounded.Token))!;
                Assert.Equal((written.Description, written.Revision), (onB.Description, onB.Revision));
            }

            await AssertNothingLostAsync(schema, a, before, last, newKey);
            await AssertNothingLostAsync(schema, b, before, last, newKey);
        }
    }

    /// <summary>Saves the tasks; returns their revisions.</summary>
    private static async Task<Dictionary<string, long>> SaveTasksAsync(StatePersistenceService service)
    {
        var revisions = new Dictionary<string, long>(StringComparer.Ordinal);
        for (int i = 0; i < Tasks; i++)
        {
            await service.SaveTaskAsync(new AgentTask { Id = $"t{i}", Description = "first", Status = "pending" }, Ct);
            revisions[$"t{i}"] = (await service.LoadTaskAsync($"t{i}", Ct))!.Revision;
        }

        return revisions;
    }

    /// <summary>
    /// Runs <paramref name="reencrypt"/> while <see cref="Writers"/> writers update the tasks they own (half of them;
    /// the other half is left alone) until it ended and each wrote at least 40 times; returns each written task's
    /// last write as its writer got it back, and the number of writes.
    /// </summary>
    private static async Task<(ConcurrentDictionary<string, AgentTask> Last, int Writes)> WriteWhileAsync(StatePersistenceService writer, Func<Task<int>> reencrypt)
    {
        var last = new ConcurrentDictionary<string, AgentTask>(StringComparer.Ordinal);
        int writes = 0;
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<int> run = Task.Run(async () =>
        {
            await started.Task;
            return await reencrypt();
        }, Ct);
        Task[] writers = [.. Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            // Writer w owns the tasks whose number is w modulo 2 × Writers: no two writers share a task.
            string[] owned = [.. Enumerable.Range(0, Tasks).Where(i => i % (2 * Writers) == w).Select(i => $"t{i}")];
            for (int j = 0; !run.IsCompleted || j < 40; j++)
            {
                string id = owned[j % owned.Length];
                AgentTask written = (await writer.UpdateTaskAsync(id, t => t.Description = $"w{w}-{j}", Ct))!;
                last[id] = written;
                Interlocked.Increment(ref writes);
                started.TrySetResult();
            }
        }, Ct))];
        await Task.WhenAll(writers);
        Assert.True(await run > 1, "the re-encryption took more than one step, so the writes came between its steps");
        return (last, writes);
    }

    private static async Task AssertNothingLostAsync(EncryptedSchema schema, StatePersistenceService service, Dictionary<string, long> before,
        ConcurrentDictionary<string, AgentTask> last, string newKey)
    {
        Assert.Equal("", string.Join(", ", (await schema.RawRowsAsync()).Where(r => r.KeyId != newKey)));
        Dictionary<string, long> stored = (await schema.RawRowsAsync()).Where(r => r.Table == "items" && r.Name.StartsWith("task/", StringComparison.Ordinal))
            .ToDictionary(r => r.Name["task/".Length..], r => r.Number, StringComparer.Ordinal);
        (StatePersistenceService fresh, _) = await schema.OpenAsync(encrypted: true);
        await using (fresh)
        {
            foreach ((string id, long revision) in before)
            {
                (string Description, long Revision) expected = last.TryGetValue(id, out AgentTask? written) ? (written.Description!, written.Revision) : ("first", revision);
                Assert.Equal(expected, (stored[id] == expected.Revision ? expected.Description : "revision " + stored[id], stored[id]));
                AgentTask fromFresh = (await fresh.LoadTaskAsync(id, Ct))!;
                AgentTask fromService = (await service.LoadTaskAsync(id, Ct))!;
                Assert.Equal(expected, (fromFresh.Description, fromFresh.Revision));
                Assert.Equal(expected, (fromService.Description, fromService.Revision));
            }
        }
    }
}
