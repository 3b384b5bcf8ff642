using StatePersistence.Commit;
using StatePersistence.Encryption;
using StatePersistence.Errors;
using StatePersistence.FileStore.Operations;
using StatePersistence.Model;
using StatePersistence.Storage;
using static StatePersistence.Postgres.Tests.Reencryption.EncryptedSchema;

namespace StatePersistence.Postgres.Tests.Reencryption;

/// <summary>
/// A row under a key revoked with <c>--accept-unreadable</c> beside rows under an older retired key: its refusal (a
/// <see cref="StateFormatException"/>) stopped every step, so the rows read after it were never rewritten. It is now
/// left as it is and named once, like a damaged row, and the other rows are rewritten.
/// </summary>
public sealed class RevokedKeyRowTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ARowUnderARevokedKey_IsLeftAndNamedOnce_AndTheRowsUnderARetiredKeyAreStillRewritten()
    {
        await using EncryptedSchema schema = await CreateAsync();
        EncryptionKeyFile.Create(schema.KeyFile);
        (StatePersistenceService service, PostgresStateStore store) = await schema.OpenAsync(encrypted: true);
        await using (service)
        {
            await PopulateAsync(service);
            string revoked = EncryptionKeyOperations.Rotate(schema.KeyFile).Id;
            await WaitForActiveKeyAsync(store, revoked);
            await service.SaveReportAsync("under-revoked", System.Text.Json.JsonSerializer.SerializeToElement(new { summary = "lost" }), Ct);
            string newKey = EncryptionKeyOperations.Rotate(schema.KeyFile).Id;
            EncryptionKeyOperations.SetState(schema.KeyFile, revoked, EncryptionKeyState.Revoked); // --accept-unreadable
            await WaitForActiveKeyAsync(store, newKey);
            await WaitForRevokedAsync(store, revoked);
            (List<StateStorageException> errors, ReencryptionStep? step) = await StepUntilNothingIsRewrittenAsync(store);

            StateStorageException error = Assert.Single(errors);
            Assert.Contains("/reports/under-revoked'", error.Message, StringComparison.Ordinal);
            Assert.IsType<StateFormatException>(error.InnerException);
            Assert.Equal(1, step!.Remaining);
            Assert.Equal(["reports/under-revoked"], (await schema.RawRowsAsync()).Where(r => r.KeyId != newKey).Select(r => $"{r.Table}/{r.Name}"));
            await AssertEverythingIsBackAsync(service);
        }
    }

    [Fact]
    public async Task ATaskArchiveUnderARevokedKey_IsLeftAndNamedOnce_AndTheRowsUnderARetiredKeyAreStillRewritten()
    {
        await using EncryptedSchema schema = await CreateAsync();
        string revoked = EncryptionKeyFile.Create(schema.KeyFile).Active.Id;
        (StatePersistenceService service, PostgresStateStore store) = await schema.OpenAsync(encrypted: true);
        await using (service)
        {
            await service.SaveTaskAsync(new AgentTask { Id = "done", Description = "archived", Status = TaskStatuses.Completed, CompletedAt = DateTimeOffset.UtcNow.AddDays(-60) }, Ct);
            Assert.Equal(["done"], (await TaskArchives.ArchiveAsync(service, DateTimeOffset.UtcNow.AddDays(-30), cancellationToken: Ct)).Tasks);
            string retired = EncryptionKeyOperations.Rotate(schema.KeyFile).Id;
            await WaitForActiveKeyAsync(store, retired);
            await PopulateAsync(service);
            string newKey = EncryptionKeyOperations.Rotate(schema.KeyFile).Id;
            EncryptionKeyOperations.SetState(schema.KeyFile, revoked, EncryptionKeyState.Revoked); // --accept-unreadable
            await WaitForActiveKeyAsync(store, newKey);
            await WaitForRevokedAsync(store, revoked);
            (List<StateStorageException> errors, ReencryptionStep? step) = await StepUntilNothingIsRewrittenAsync(store);

            StateStorageException archiveError = Assert.Single(errors, e => e.Message.Contains("/task_archives/", StringComparison.Ordinal));
            Assert.IsType<StateFormatException>(archiveError.InnerException);
            Assert.All(errors, e => Assert.IsType<StateFormatException>(e.InnerException));
            Assert.Equal(1, await schema.ScalarAsync($"SELECT count(*) FROM {schema.Name}.task_archives WHERE key_id = '{revoked}'"));
            Assert.DoesNotContain(await schema.RawRowsAsync(), r => r.KeyId == retired);
            await AssertEverythingIsBackAsync(service);
        }
    }

    /// <summary>Until the store's ring holds <paramref name="keyId"/> as revoked (it reloads the key file on its own).</summary>
    private static async Task WaitForRevokedAsync(PostgresStateStore store, string keyId)
    {
        for (int i = 0; i < 300 && store.KeyStates?.GetValueOrDefault(keyId) != EncryptionKeyState.Revoked; i++)
        {
            await Task.Delay(50, Ct);
        }

        Assert.Equal(EncryptionKeyState.Revoked, store.KeyStates?.GetValueOrDefault(keyId));
    }

    /// <summary>Re-encryption steps until one rewrites nothing (at most 100), with the errors the steps threw.</summary>
    private static async Task<(List<StateStorageException> Errors, ReencryptionStep? Step)> StepUntilNothingIsRewrittenAsync(PostgresStateStore store)
    {
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

        return (errors, step);
    }
}
