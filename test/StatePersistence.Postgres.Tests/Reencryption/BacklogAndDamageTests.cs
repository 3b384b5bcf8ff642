using Npgsql;
using StatePersistence.Commit;
using StatePersistence.Encryption;
using StatePersistence.Errors;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Storage;
using static StatePersistence.Postgres.Tests.Reencryption.EncryptedSchema;

namespace StatePersistence.Postgres.Tests.Reencryption;

/// <summary>
/// A backlog larger than one step is worked through without waiting an interval per step; a row that does not open
/// (damage) is left as it is, named in the step's error once, counted as remaining, and never stops the other rows.
/// </summary>
public sealed class BacklogAndDamageTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ABacklogOfManySteps_IsRewrittenByTheStartUpRun_WithoutWaitingForTheNextInterval()
    {
        await using EncryptedSchema schema = await CreateAsync();
        (StatePersistenceService clear, _) = await schema.OpenAsync(encrypted: false);
        await using (clear)
        {
            await PopulateAsync(clear);
        }

        int rows = (await schema.RawRowsAsync()).Count;
        Assert.True(rows > 5 * 32, $"{rows} rows are several steps' work");
        string key = EncryptionKeyFile.Create(schema.KeyFile).Active.Id;

        // The interval is an hour: only the run at start-up can do it, one step after another.
        (StatePersistenceService service, _) = await schema.OpenAsync(encrypted: true, loop: true, interval: TimeSpan.FromHours(1));
        await using (service)
        {
            List<RawRow> left = [];
            for (int i = 0; i < 600; i++)
            {
                left = [.. (await schema.RawRowsAsync()).Where(r => r.KeyId != key)];
                if (left.Count == 0)
                {
                    break;
                }

                await Task.Delay(50, Ct);
            }

            Assert.Equal("", string.Join(", ", left));
            await AssertEverythingIsBackAsync(service);
        }
    }

    [Fact]
    public async Task ADamagedRow_IsLeftAndNamedOnce_CountedAsRemaining_AndTheOtherRowsAreRewritten()
    {
        await using EncryptedSchema schema = await CreateAsync();
        EncryptionKeyFile.Create(schema.KeyFile);
        (StatePersistenceService service, PostgresStateStore store) = await schema.OpenAsync(encrypted: true);
        await using (service)
        {
            await PopulateAsync(service);
            byte[] report;
            await using (NpgsqlCommand read = PostgresServer.DataSource.CreateCommand($"SELECT payload FROM {schema.Name}.reports WHERE id = 'r7'"))
            {
                report = (byte[])(await read.ExecuteScalarAsync(Ct))!;
            }

            // A bit flipped in the ciphertext: the key is held, the tag fails.
            report[^8] ^= 0x20;
            await using (NpgsqlCommand damage = PostgresServer.DataSource.CreateCommand($"UPDATE {schema.Name}.reports SET payload = $1 WHERE id = 'r7'"))
            {
                damage.Parameters.AddWithValue(report);
                await damage.ExecuteNonQueryAsync(Ct);
            }

            string newKey = EncryptionKeyOperations.Rotate(schema.KeyFile).Id;
            await WaitForActiveKeyAsync(store, newKey);
            var errors = new List<StateStorageException>();
            ReencryptionStep? step = null;
            for (int i = 0; i < 100 && step is not { Rewritten: 0 }; i++)
            {
                try
                {
                    step = await store.ReencryptStepAsync(StateView.Empty, 32, Ct);
                }
                catch (StateStorageException ex)
                {
                    errors.Add(ex);
                }
            }

            StateStorageException error = Assert.Single(errors);
            Assert.Contains("/reports/r7'", error.Message, StringComparison.Ordinal);
            Assert.False(error.IsTransient);
            Assert.IsType<InvalidDataException>(error.InnerException);
            Assert.Contains(error.InnerException.Message, error.Message, StringComparison.Ordinal);
            Assert.Equal(1, step!.Remaining);
            Assert.Equal(["reports/r7"], (await schema.RawRowsAsync()).Where(r => r.KeyId != newKey).Select(r => $"{r.Table}/{r.Name}"));
            Assert.Equal(1L, service.CheckHealth().StoreDetails["reencryption_files_remaining"]);
            Assert.Equal(1, (await store.MeasureKeyUsageAsync(Ct)).ByKey.Single(k => k.Key != newKey).Value.Reports);
            await Assert.ThrowsAsync<StateStorageException>(async () => await service.LoadReportAsync("r7", Ct));
            Assert.Equal(Description, (await service.LoadStateAsync(Ct)).ExtensionData!["ui"].GetProperty("note").GetString());
        }
    }
}
