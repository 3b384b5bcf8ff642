using System.Text;
using Npgsql;
using StatePersistence.Commit;
using StatePersistence.Encryption;
using StatePersistence.Postgres.Changes;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests.Reencryption;

/// <summary>
/// The race the re-encryption's conditional rewrite exists for, made certain: a writer changes a row after the step
/// read it and before the step's UPDATE reaches it (the writer's uncommitted change holds the row, so the UPDATE
/// waits for it). The step must then leave the row to the writer: the write stays, with the revision it got.
/// </summary>
public sealed class RewriteRaceTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ATaskWrittenBetweenTheStepsReadAndItsUpdate_KeepsTheWrite()
    {
        await using EncryptedSchema schema = await EncryptedSchema.CreateAsync();
        (PostgresStateStore store, IPayloadCodec codec) = await OpenStoreAsync(schema);
        await using (store)
        {
            await store.AppendAsync([[Store.Put("t1", ExpectedRevision.Any, "first")]], Durability.Full, Ct);
            await RotateAsync(schema, store);
            var writer = new GroupWriter(PostgresServer.DataSource, schema.Name, new ChangeRows(new StorePayloads(codec), "race"));

            CommitOutcome written = default!;
            ReencryptionStep step = await RaceAsync(store, async (connection, transaction) =>
            {
                written = await writer.WriteAsync(connection, transaction, [Store.Put("t1", ExpectedRevision.Any, "concurrent")], Durability.Full, Ct);
                await writer.NumberAsync(connection, transaction, Ct);
            });

            Assert.True(written.Committed);
            RecoveredState reloaded = await store.ReloadAsync(Ct);
            StoredItem t1 = reloaded.View.Tasks["t1"];
            Assert.Equal(written.Revision, t1.Revision);
            Assert.Contains("\"concurrent\"", Encoding.UTF8.GetString(t1.Json), StringComparison.Ordinal);
            Assert.True(step.Rewritten >= 1, "the step rewrote the change log's row of the first write");

            // The writer's codec may not have seen the rotation yet: a later step seals its row, keeping its revision.
            await store.ReencryptStepAsync(StateView.Empty, 32, Ct);
            RawRow row = Assert.Single(await schema.RawRowsAsync(), r => r.Table == "items");
            Assert.Equal((store.ActiveKeyId, written.Revision), (row.KeyId, row.Number));
            Assert.Equal(written.Revision, (await store.ReloadAsync(Ct)).View.Tasks["t1"].Revision);
        }
    }

    [Fact]
    public async Task AWriterHoldingOneRowThatThenWritesARowTheStepRewroteBefore_DoesNotDeadlockWithTheStep()
    {
        await using EncryptedSchema schema = await EncryptedSchema.CreateAsync();
        (PostgresStateStore store, IPayloadCodec codec) = await OpenStoreAsync(schema);
        await using (store)
        {
            await store.AppendAsync([[Store.Put("t1", ExpectedRevision.Any, "first")], [Store.Put("t2", ExpectedRevision.Any, "first")]], Durability.Full, Ct);
            await RotateAsync(schema, store);
            var writer = new GroupWriter(PostgresServer.DataSource, schema.Name, new ChangeRows(new StorePayloads(codec), "race"));

            // The step rewrites t1, then waits for t2, which the writer holds; the writer then writes t1 in the same
            // transaction. Had the step kept t1 locked while it waits (one transaction for its updates), each would
            // wait for the other and PostgreSQL would fail one of them.
            CommitOutcome second = default!;
            await RaceAsync(store, async (connection, transaction) =>
                await writer.WriteAsync(connection, transaction, [Store.Put("t2", ExpectedRevision.Any, "concurrent")], Durability.Full, Ct),
                async (connection, transaction) =>
                {
                    second = await writer.WriteAsync(connection, transaction, [Store.Put("t1", ExpectedRevision.Any, "concurrent")], Durability.Full, Ct);
                    await writer.NumberAsync(connection, transaction, Ct);
                });

            Assert.True(second.Committed);
            RecoveredState reloaded = await store.ReloadAsync(Ct);
            Assert.All(reloaded.View.Tasks.Values, t => Assert.Contains("\"concurrent\"", Encoding.UTF8.GetString(t.Json), StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task AReportSavedBetweenTheStepsReadAndItsUpdate_KeepsTheSave()
    {
        await using EncryptedSchema schema = await EncryptedSchema.CreateAsync();
        (PostgresStateStore store, IPayloadCodec codec) = await OpenStoreAsync(schema);
        await using (store)
        {
            await store.SaveReportAsync("r1", "{\"summary\":\"first\"}"u8.ToArray(), Durability.Full, Ct);
            await RotateAsync(schema, store);
            byte[] concurrent = new StorePayloads(codec).Seal(PayloadKind.Report, "r1", "{\"summary\":\"concurrent\"}"u8);

            await RaceAsync(store, async (connection, transaction) =>
            {
                await using var save = new NpgsqlCommand($"UPDATE {schema.Name}.reports SET payload = $1 WHERE id = 'r1'", connection, transaction);
                save.Parameters.AddWithValue(concurrent);
                Assert.Equal(1, await save.ExecuteNonQueryAsync(Ct));
            });

            Assert.Equal("{\"summary\":\"concurrent\"}", Encoding.UTF8.GetString((await store.LoadReportAsync("r1", Ct))!));
        }
    }

    private static async Task<(PostgresStateStore Store, IPayloadCodec Codec)> OpenStoreAsync(EncryptedSchema schema)
    {
        EncryptionKeyFile.Create(schema.KeyFile);
        var options = new StatePersistenceOptions();
        options.Encryption.KeyFile = schema.KeyFile;
        var store = new PostgresStateStore(PostgresServer.ConnectionString, schema.Name, options.ResolvePayloadCodec(hasStateDirectory: false));
        await store.OpenAsync(Ct);
        return (store, options.ResolvePayloadCodec(hasStateDirectory: false)!);
    }

    private static async Task RotateAsync(EncryptedSchema schema, PostgresStateStore store)
    {
        string newKey = EncryptionKeyOperations.Rotate(schema.KeyFile).Id;
        await EncryptedSchema.WaitForActiveKeyAsync(store, newKey);
    }

    /// <summary>
    /// Begins a transaction and lets <paramref name="write"/> change a row in it; runs a re-encryption step, waits
    /// (bounded) until the step's UPDATE waits for that transaction, runs <paramref name="thenBeforeCommit"/> in it,
    /// then commits it; returns the step.
    /// </summary>
    private static async Task<ReencryptionStep> RaceAsync(PostgresStateStore store, Func<NpgsqlConnection, NpgsqlTransaction, Task> write,
        Func<NpgsqlConnection, NpgsqlTransaction, Task>? thenBeforeCommit = null)
    {
        await using NpgsqlConnection connection = await PostgresServer.DataSource.OpenConnectionAsync(Ct);
        await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(Ct);
        await write(connection, transaction);
        Task<ReencryptionStep> step = store.ReencryptStepAsync(StateView.Empty, 32, Ct).AsTask();

        await using (NpgsqlCommand waiting = PostgresServer.DataSource.CreateCommand("SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))"))
        {
            waiting.Parameters.AddWithValue(connection.ProcessID);
            for (int i = 0; i < 600 && (long)(await waiting.ExecuteScalarAsync(Ct))! == 0; i++)
            {
                Assert.False(step.IsCompleted, "the step ended without waiting for the writer's row");
                await Task.Delay(20, Ct);
            }

            Assert.Equal(1L, (long)(await waiting.ExecuteScalarAsync(Ct))!);
        }

        if (thenBeforeCommit is not null)
        {
            await thenBeforeCommit(connection, transaction);
        }

        await transaction.CommitAsync(Ct);
        return await step;
    }
}
