using System.Text.Json;
using Npgsql;
using StatePersistence.Encryption;
using StatePersistence.Model;
using StatePersistence.Postgres.Tests.Support;
using static StatePersistence.Postgres.Tests.Reencryption.EncryptedSchema;

namespace StatePersistence.Postgres.Tests.Reencryption;

/// <summary>
/// A commit seals its rows before it sends them, and it can wait on its locks long enough for the key to rotate and
/// the background re-encryption to run to its end in between: that run finds nothing under the old key (the rows are
/// not committed yet) and finishes. The rows then land under the old key. Before, they stayed so until the next
/// rotation (the old key's count in <c>keys list</c> never reached 0); now the re-encryption looks again when such a
/// write lands. Here another connection holds a lock the write takes after sealing (the change feed's numbering lock
/// for a commit, the report's row for a report) while the key rotates and the re-encryption runs.
/// </summary>
public sealed class CommitLandingAfterARotationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RowsSealedBeforeARotation_CommittedAfterTheReencryptionFinished_AreSealedAgain()
    {
        await using EncryptedSchema schema = await CreateAsync();
        string oldKey = EncryptionKeyFile.Create(schema.KeyFile).Active.Id;
        (StatePersistenceService service, PostgresStateStore store) = await schema.OpenAsync(encrypted: true);
        await using (service)
        {
            await service.SaveTaskAsync(new AgentTask { Id = "before", Description = Description }, Ct);

            await using NpgsqlConnection holder = await PostgresServer.DataSource.OpenConnectionAsync(Ct);
            await using NpgsqlTransaction held = await holder.BeginTransactionAsync(Ct);
            await using (var take = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", holder, held))
            {
                take.Parameters.AddWithValue("statepersistence.feed:" + schema.Name);
                await take.ExecuteNonQueryAsync(Ct);
            }

            Task saving = service.SaveTaskAsync(new AgentTask { Id = "late", Description = Description }, Ct).AsTask();
            await WaitForAWaiterAsync(schema.Name);

            string newKey = EncryptionKeyOperations.Rotate(schema.KeyFile).Id;
            await WaitForActiveKeyAsync(store, newKey);
            await service.ReencryptToEndAsync(Ct);
            Assert.Equal(0, (await store.MeasureKeyUsageAsync(Ct)).For(oldKey).Total);

            await held.CommitAsync(Ct);
            await saving;
            Assert.True((await store.MeasureKeyUsageAsync(Ct)).For(oldKey).Total > 0, "the commit did not land under the old key");

            await service.ReencryptToEndAsync(Ct);

            Assert.Equal(0, (await store.MeasureKeyUsageAsync(Ct)).For(oldKey).Total);
            Assert.Equal(Description, (await service.LoadTaskAsync("late", Ct))!.Description);
        }
    }

    [Fact]
    public async Task AReportSealedBeforeARotation_SavedAfterTheReencryptionFinished_IsSealedAgain()
    {
        await using EncryptedSchema schema = await CreateAsync();
        string oldKey = EncryptionKeyFile.Create(schema.KeyFile).Active.Id;
        (StatePersistenceService service, PostgresStateStore store) = await schema.OpenAsync(encrypted: true);
        await using (service)
        {
            await service.SaveReportAsync("before", JsonSerializer.SerializeToElement(new { summary = ReportText }), Ct);

            // Another transaction inserting the same report, not yet ended: the save, sealed, waits for it (a
            // transaction holding the row of a stored report would hold up the re-encryption's rewrite of it too).
            await using NpgsqlConnection holder = await PostgresServer.DataSource.OpenConnectionAsync(Ct);
            await using NpgsqlTransaction held = await holder.BeginTransactionAsync(Ct);
            await using (var take = new NpgsqlCommand($"INSERT INTO {schema.Name}.reports (id, payload) VALUES ('r', '\\x00')", holder, held))
            {
                await take.ExecuteNonQueryAsync(Ct);
            }

            Task saving = service.SaveReportAsync("r", JsonSerializer.SerializeToElement(new { summary = "late" }), Ct).AsTask();
            await using (NpgsqlCommand waiting = PostgresServer.DataSource.CreateCommand(
                $"SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO {schema.Name}.reports%'"))
            {
                await WaitForAWaiterAsync(waiting, "the report's save never waited on the other transaction's insert");
            }

            string newKey = EncryptionKeyOperations.Rotate(schema.KeyFile).Id;
            await WaitForActiveKeyAsync(store, newKey);
            await service.ReencryptToEndAsync(Ct);
            Assert.Equal(0, (await store.MeasureKeyUsageAsync(Ct)).For(oldKey).Total);
            await held.RollbackAsync(Ct);
            await saving;
            Assert.True((await store.MeasureKeyUsageAsync(Ct)).For(oldKey).Total > 0, "the report did not land under the old key");

            await service.ReencryptToEndAsync(Ct);

            Assert.Equal(0, (await store.MeasureKeyUsageAsync(Ct)).For(oldKey).Total);
            Assert.Equal("late", (await service.LoadReportAsync("r", Ct))!.Value.GetProperty("summary").GetString());
        }
    }

    /// <summary>Until a backend waits for the schema's numbering lock (the commit, sealed, behind the held lock); bounded.</summary>
    private static async Task WaitForAWaiterAsync(string schema)
    {
        // An advisory lock's 64-bit key is split into classid (its high half) and objid (its low half).
        await using NpgsqlCommand waiting = PostgresServer.DataSource.CreateCommand(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted " +
            "AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 0)");
        waiting.Parameters.AddWithValue("statepersistence.feed:" + schema);
        await WaitForAWaiterAsync(waiting, "the commit never waited on the held lock");
    }

    /// <summary>Until <paramref name="waiting"/> counts a waiting backend (polled, bounded at 30 s); fails with <paramref name="failure"/> otherwise.</summary>
    private static async Task WaitForAWaiterAsync(NpgsqlCommand waiting, string failure)
    {
        for (int i = 0; i < 600 && (long)(await waiting.ExecuteScalarAsync(Ct))! == 0; i++)
        {
            await Task.Delay(50, Ct);
        }

        Assert.True((long)(await waiting.ExecuteScalarAsync(Ct))! > 0, failure);
    }
}
