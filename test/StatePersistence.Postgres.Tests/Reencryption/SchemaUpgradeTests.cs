using Npgsql;
using StatePersistence.Encryption;
using StatePersistence.Postgres.Schema;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Postgres.Tests.Upgrade;
using static StatePersistence.Postgres.Tests.Reencryption.EncryptedSchema;

namespace StatePersistence.Postgres.Tests.Reencryption;

/// <summary>
/// Schema version 4 (the payload key id function and its indexes) applied over a version 3 schema that already holds
/// rows, sealed and clear, among them a legacy log row too short for an envelope: the upgrade indexes them all, and
/// the re-encryption then finds and rewrites them.
/// </summary>
public sealed class SchemaUpgradeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task UpgradingAVersion3SchemaWithRows_IndexesEveryRow_AndARotationThenRewritesThemAll()
    {
        await using EncryptedSchema schema = await CreateAsync();
        EncryptionKeyFile.Create(schema.KeyFile);
        (StatePersistenceService service, _) = await schema.OpenAsync(encrypted: true);
        await using (service)
        {
            await PopulateAsync(service);
        }

        // Back to version 3, as an earlier build left it, with a legacy log row (no envelope, shorter than a header).
        await ExecuteAsync($"""
            {OlderSchema.DropVersion5(schema.Name)}
            DROP FUNCTION {schema.Name}.payload_key_id(bytea) CASCADE;
            DELETE FROM {schema.Name}.schema_version WHERE version >= 4;
            INSERT INTO {schema.Name}.session_logs (session_id, payload) VALUES ('legacy', 'ok' || chr(10)::bytea);
            """);
        Assert.Equal(3, await PostgresSchema.EnsureAsync(PostgresServer.DataSource, schema.Name, Ct));
        Assert.Equal((long)PostgresSchema.CurrentVersion, await schema.ScalarAsync("SELECT max(version) FROM {0}.schema_version"));
        Assert.Equal(4L, await schema.ScalarAsync("SELECT count(*) FROM pg_indexes WHERE schemaname = '{0}' AND indexname LIKE '%_key_id'"));

        string newKey = EncryptionKeyOperations.Rotate(schema.KeyFile).Id;
        (StatePersistenceService upgraded, PostgresStateStore store) = await schema.OpenAsync(encrypted: true);
        await using (upgraded)
        {
            Assert.Equal(newKey, store.ActiveKeyId);
            await upgraded.ReencryptToEndAsync(Ct);
            Assert.Equal("", string.Join(", ", (await schema.RawRowsAsync()).Where(r => r.KeyId != newKey)));
            Assert.Equal("ok\n", await upgraded.ReadSessionLogAsync("legacy", Ct));
            await AssertEverythingIsBackAsync(upgraded);
        }
    }

    private static async Task ExecuteAsync(string sql)
    {
        await using NpgsqlCommand command = PostgresServer.DataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync(Ct);
    }
}
