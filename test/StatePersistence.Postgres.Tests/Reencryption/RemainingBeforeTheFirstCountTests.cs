using StatePersistence.Encryption;
using static StatePersistence.Postgres.Tests.Reencryption.EncryptedSchema;

namespace StatePersistence.Postgres.Tests.Reencryption;

/// <summary>
/// The rows left under an older key, as the health's <c>reencryption_files_remaining</c> shows them on an instance
/// started after a rotation, before a re-encryption step has counted them: left out, never 0 (an operator removes the
/// old key on 0 from every instance). Before 2026-12-07 it was 0 from the open until the first step had counted, and
/// for good on an instance with the re-encryption off, with every row under the old key.
/// </summary>
public sealed class RemainingBeforeTheFirstCountTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AnInstanceStartedAfterARotation_WithTheReencryptionOff_ShowsNoFigureUntilAStepCounts()
    {
        await using EncryptedSchema schema = await PopulatedAndSealedAsync();
        string oldKey = EncryptionKeyFile.Read(schema.KeyFile).Active.Id;
        EncryptionKeyOperations.Rotate(schema.KeyFile);

        (StatePersistenceService service, PostgresStateStore store) = await schema.OpenAsync(encrypted: true);
        await using (service)
        {
            Assert.True((await store.MeasureKeyUsageAsync(Ct)).For(oldKey).Total > 0, "rows are still under the old key");
            Assert.False(service.CheckHealth().StoreDetails.TryGetValue("reencryption_files_remaining", out long shown),
                $"the health shows {shown} rows left under another key before anything counted them");

            await service.ReencryptToEndAsync(Ct);
            Assert.Equal(0, (await store.MeasureKeyUsageAsync(Ct)).For(oldKey).Total);
            Assert.Equal(0L, service.CheckHealth().StoreDetails["reencryption_files_remaining"]);
        }
    }
}
