using StatePersistence.Commit;
using StatePersistence.Encryption;
using StatePersistence.Events;
using StatePersistence.Model;
using StatePersistence.Querying;
using StatePersistence.Storage;
using static StatePersistence.Postgres.Tests.Reencryption.EncryptedSchema;

namespace StatePersistence.Postgres.Tests.Reencryption;

/// <summary>
/// The background re-encryption of the PostgreSQL store through the real service, a real key file, real AES-GCM and
/// the real database: after a rotation every row (items, the extras row, session log rows, reports, the change log)
/// is rewritten under the new key without a new revision or change-feed entry; turning encryption off writes every
/// row in the clear (items back into <c>body jsonb</c>, listed again), turning it on seals every clear row, and a
/// run stopped in the middle continues in the next instance.
/// </summary>
public sealed class RotationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AfterARotation_TheBackgroundLoopRewritesEveryRowUnderTheNewKey_WithoutNewRevisionsOrChanges()
    {
        await using EncryptedSchema schema = await CreateAsync();
        string oldKey = EncryptionKeyFile.Create(schema.KeyFile).Active.Id;
        (StatePersistenceService service, PostgresStateStore store) = await schema.OpenAsync(encrypted: true, loop: true);
        await using (service)
        {
            await PopulateAsync(service);
            List<RawRow> before = await schema.RawRowsAsync();
            Assert.All(before, r => Assert.Equal(oldKey, r.KeyId));
            long changes = await schema.ScalarAsync("SELECT count(*) FROM {0}.changes");
            long lastRevision = await schema.ScalarAsync("SELECT max(revision) FROM {0}.items");
            Task<List<StateEvent>> reader = EventsUntilFinishedAsync(service);

            string newKey = EncryptionKeyOperations.Rotate(schema.KeyFile).Id;

            List<StateEvent> events = await reader;
            List<RawRow> after = await schema.RawRowsAsync();
            Assert.Equal("", string.Join(", ", after.Where(r => r.KeyId != newKey)));
            Assert.Equal(before.Select(r => (r.Table, r.Name, r.Number)).Order(), after.Select(r => (r.Table, r.Name, r.Number)).Order());
            Assert.Equal(changes, await schema.ScalarAsync("SELECT count(*) FROM {0}.changes"));
            Assert.Equal(lastRevision, await schema.ScalarAsync("SELECT max(revision) FROM {0}.items"));
            Assert.Empty(await schema.RowsNamingAsync(Description));

            PostgresKeyUsage usage = await store.MeasureKeyUsageAsync(Ct);
            Assert.Equal(0, usage.For(oldKey).Total);
            Assert.Equal(PostgresKeyUsageCount.None, usage.Clear);
            Assert.Equal(new PostgresKeyUsageCount(Items + 2, Items, Items, changes), usage.For(newKey));
            Assert.Equal(0L, service.CheckHealth().StoreDetails["reencryption_files_remaining"]);
            Assert.Contains(events, e => e.Type == StateEventTypes.ReencryptionStarted && e.Id == newKey);
            Assert.Contains(events, e => e.Type == StateEventTypes.ReencryptionFinished && e.Id == newKey);
            await AssertEverythingIsBackAsync(service);
        }

        // Nothing needs the old key any more: revoked, a new instance still reads everything.
        EncryptionKeyOperations.SetState(schema.KeyFile, oldKey, EncryptionKeyState.Revoked);
        (StatePersistenceService reopened, _) = await schema.OpenAsync(encrypted: true);
        await using (reopened)
        {
            await AssertEverythingIsBackAsync(reopened);
        }
    }

    [Fact]
    public async Task AStoreStoppedInTheMiddleOfTheReencryption_IsFinishedByTheNextInstance()
    {
        await using EncryptedSchema schema = await CreateAsync();
        string oldKey = EncryptionKeyFile.Create(schema.KeyFile).Active.Id;
        (StatePersistenceService service, PostgresStateStore store) = await schema.OpenAsync(encrypted: true);
        string newKey;
        int total;
        await using (service)
        {
            await PopulateAsync(service);
            total = (await schema.RawRowsAsync()).Count;
            newKey = EncryptionKeyOperations.Rotate(schema.KeyFile).Id;
            await WaitForActiveKeyAsync(store, newKey);

            // One step of the loop, then the instance stops.
            ReencryptionStep step = await store.ReencryptStepAsync(StateView.Empty, 32, Ct);
            Assert.Equal((newKey, 32, 0, total - 32), (step.ActiveKeyId, step.Rewritten, step.ForCheckpoint, step.Remaining));
            Assert.Equal(total - 32, (await schema.RawRowsAsync()).Count(r => r.KeyId == oldKey));
            Assert.Equal(total - 32L, service.CheckHealth().StoreDetails["reencryption_files_remaining"]);
        }

        (StatePersistenceService next, _) = await schema.OpenAsync(encrypted: true);
        await using (next)
        {
            await AssertEverythingIsBackAsync(next);
            Assert.True(await next.ReencryptToEndAsync(Ct) >= (total - 32) / 32);
            Assert.Equal("", string.Join(", ", (await schema.RawRowsAsync()).Where(r => r.KeyId != newKey)));
            await AssertEverythingIsBackAsync(next);
        }
    }

    [Fact]
    public async Task DisablingEncryption_RewritesEveryRowInTheClear_AndTheListingIsAnsweredByPostgresqlAgain()
    {
        await using EncryptedSchema schema = await CreateAsync();
        string key = EncryptionKeyFile.Create(schema.KeyFile).Active.Id;
        (StatePersistenceService service, PostgresStateStore store) = await schema.OpenAsync(encrypted: true);
        await using (service)
        {
            await PopulateAsync(service);
            Assert.Empty(await schema.RowsNamingAsync(Description));
            Assert.Null(await store.ListTasksAsync(new TaskListing(null, null, null, TaskSort.Id, null, 100), Ct));

            EncryptionKeyOperations.Disable(schema.KeyFile);
            await WaitForActiveKeyAsync(store, null);
            await service.SaveTaskAsync(new AgentTask { Id = "t-after", Description = "after " + Description, Status = "pending" }, Ct);
            await service.ReencryptToEndAsync(Ct);

            List<RawRow> rows = await schema.RawRowsAsync();
            Assert.Equal("", string.Join(", ", rows.Where(r => r.KeyId != "")));
            Assert.Equal("", string.Join(", ", rows.Where(r => r.Table == "items" && r.Body is null)));
            Assert.Equal(0, await schema.ScalarAsync("SELECT count(*) FROM {0}.items WHERE kind = 'task' AND NOT listed"));
            IReadOnlyList<StoredItem>? listed = await store.ListTasksAsync(new TaskListing("completed", null, null, TaskSort.Id, null, 100), Ct);
            Assert.NotNull(listed);
            Assert.Equal(Items / 2, listed.Count);
            Assert.Empty((await store.MeasureKeyUsageAsync(Ct)).ByKey);
            Assert.Equal(0L, service.CheckHealth().StoreDetails["reencryption_files_remaining"]);
            await AssertEverythingIsBackAsync(service);
        }

        // Nothing is sealed: without any key, a new instance reads everything.
        File.Delete(schema.KeyFile);
        (StatePersistenceService clear, _) = await schema.OpenAsync(encrypted: false);
        await using (clear)
        {
            await AssertEverythingIsBackAsync(clear);
            Assert.Equal("after " + Description, (await clear.LoadTaskAsync("t-after", Ct))!.Description);
        }

        Assert.NotEmpty(await schema.RowsNamingAsync(Description));
        Assert.Empty(await schema.RowsNamingAsync(key));
    }

    [Fact]
    public async Task TurningEncryptionOnOverAClearSchema_SealsEveryRow()
    {
        await using EncryptedSchema schema = await CreateAsync();
        (StatePersistenceService clear, _) = await schema.OpenAsync(encrypted: false);
        await using (clear)
        {
            await PopulateAsync(clear);
        }

        Assert.NotEmpty(await schema.RowsNamingAsync(SessionLine));
        string key = EncryptionKeyFile.Create(schema.KeyFile).Active.Id;
        (StatePersistenceService service, PostgresStateStore store) = await schema.OpenAsync(encrypted: true);
        await using (service)
        {
            await service.ReencryptToEndAsync(Ct);
            Assert.Equal("", string.Join(", ", (await schema.RawRowsAsync()).Where(r => r.KeyId != key)));
            foreach (string text in new[] { Description, SessionLine, ReportText })
            {
                Assert.Empty(await schema.RowsNamingAsync(text));
            }

            Assert.Equal(0, await schema.ScalarAsync("SELECT count(*) FROM {0}.items WHERE status IS NOT NULL OR tool IS NOT NULL OR listed"));
            Assert.Equal(PostgresKeyUsageCount.None, (await store.MeasureKeyUsageAsync(Ct)).Clear);
            await AssertEverythingIsBackAsync(service);
        }
    }

    private static async Task<List<StateEvent>> EventsUntilFinishedAsync(StatePersistenceService service)
    {
        var events = new List<StateEvent>();
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        bounded.CancelAfter(TimeSpan.FromSeconds(120));
        await foreach (StateEvent e in service.ReadEventsAsync(null, bounded.Token))
        {
            events.Add(e);
            if (e.Type == StateEventTypes.ReencryptionFinished)
            {
                break;
            }
        }

        return events;
    }
}
