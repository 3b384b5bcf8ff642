using Npgsql;
using StatePersistence.Conformance;
using StatePersistence.Postgres.Schema;
using StatePersistence.Postgres.Tests.Support;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.Postgres.Tests.Conformance;

/// <summary>The PostgreSQL store under the conformance suite: a schema of its own per test on the real server, dropped afterwards.</summary>
public sealed class PostgresStoreHarness : StoreHarness
{
    private readonly string _schema = "c_" + Guid.NewGuid().ToString("N")[..16];

    public override IStateStore CreateStore(IPayloadCodec codec) => new PostgresStateStore(PostgresServer.DataSource, _schema, codec);

    /// <summary>Every value of every column of every table in the schema, as PostgreSQL returns it (text or bytes).</summary>
    public override IEnumerable<byte[]> StoredBytes()
    {
        var stored = new List<byte[]>();
        foreach (string table in new[] { "items", "changes", "session_logs", "reports", "schema_version" })
        {
            using NpgsqlCommand command = PostgresServer.DataSource.CreateCommand($"SELECT * FROM {_schema}.{table}");
            using NpgsqlDataReader reader = command.ExecuteReader();
            while (reader.Read())
            {
                for (int i = 0; i < reader.FieldCount; i++)
                {
                    if (!reader.IsDBNull(i))
                    {
                        stored.Add(reader.GetValue(i) is byte[] bytes ? bytes : System.Text.Encoding.UTF8.GetBytes(reader.GetValue(i).ToString()!));
                    }
                }
            }
        }

        return stored;
    }

    /// <summary>A schema whose version table names a version this build does not know, as a newer build would leave it.</summary>
    public override void PlantUnknownFormatVersion()
    {
        PostgresSchema.EnsureAsync(PostgresServer.DataSource, _schema, CancellationToken.None).GetAwaiter().GetResult();
        using NpgsqlCommand command = PostgresServer.DataSource.CreateCommand(
            $"INSERT INTO {_schema}.schema_version (version, description) VALUES ({PostgresSchema.CurrentVersion + 1}, 'from a newer build')");
        command.ExecuteNonQuery();
    }

    protected override void Dispose(bool disposing)
    {
        using NpgsqlCommand drop = PostgresServer.DataSource.CreateCommand($"DROP SCHEMA IF EXISTS {_schema} CASCADE");
        drop.ExecuteNonQuery();
    }
}

public sealed class PostgresStoreCommitConformanceTests : CommitConformanceTests<PostgresStoreHarness>;

public sealed class PostgresStoreBlobConformanceTests : BlobConformanceTests<PostgresStoreHarness>;

public sealed class PostgresStoreCheckpointConformanceTests : CheckpointConformanceTests<PostgresStoreHarness>;

public sealed class PostgresStoreCodecConformanceTests : CodecConformanceTests<PostgresStoreHarness>;

public sealed class PostgresStoreSessionLogReaderConformanceTests : SessionLogReaderConformanceTests<PostgresStoreHarness>;

public sealed class PostgresStoreSessionLogGrowthConformanceTests : SessionLogGrowthConformanceTests<PostgresStoreHarness>;

public sealed class PostgresStoreRetentionConformanceTests : RetentionConformanceTests<PostgresStoreHarness>;

public sealed class PostgresStoreTransferConformanceTests : TransferConformanceTests<PostgresStoreHarness>;

public sealed class PostgresStoreTaskArchiveConformanceTests : TaskArchiveConformanceTests<PostgresStoreHarness>;

public sealed class PostgresStoreSessionDeletionConformanceTests : SessionDeletionConformanceTests<PostgresStoreHarness>;

/// <summary>The PostgreSQL store with encryption on (AES-256-GCM over a key ring of the test's own), for the session log reads.</summary>
public sealed class EncryptedPostgresStoreHarness : StoreHarness
{
    private readonly PostgresStoreHarness _rows = new();
    private readonly StatePersistence.Encryption.AesGcmCodec _codec = new(new StatePersistence.Encryption.EncryptionKeyRing([
        StatePersistence.Encryption.EncryptionKey.Generate("conformance-key", StatePersistence.Encryption.EncryptionKeyState.Active, DateTimeOffset.UnixEpoch)]));

    public override IPayloadCodec DefaultCodec => _codec;

    public override IStateStore CreateStore(IPayloadCodec codec) => _rows.CreateStore(codec);

    public override IEnumerable<byte[]> StoredBytes() => _rows.StoredBytes();

    public override void PlantUnknownFormatVersion() => _rows.PlantUnknownFormatVersion();

    protected override void Dispose(bool disposing) => _rows.Dispose();
}

public sealed class EncryptedPostgresStoreSessionLogReaderConformanceTests : SessionLogReaderConformanceTests<EncryptedPostgresStoreHarness>;

public sealed class EncryptedPostgresStoreSessionLogGrowthConformanceTests : SessionLogGrowthConformanceTests<EncryptedPostgresStoreHarness>;

public sealed class EncryptedPostgresStoreRetentionConformanceTests : RetentionConformanceTests<EncryptedPostgresStoreHarness>;

public sealed class EncryptedPostgresStoreTransferConformanceTests : TransferConformanceTests<EncryptedPostgresStoreHarness>;

public sealed class EncryptedPostgresStoreTaskArchiveConformanceTests : TaskArchiveConformanceTests<EncryptedPostgresStoreHarness>;
