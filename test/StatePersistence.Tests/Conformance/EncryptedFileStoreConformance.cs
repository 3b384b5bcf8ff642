using StatePersistence.Conformance;
using StatePersistence.Encryption;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.Tests.Conformance;

/// <summary>
/// The file store under the whole conformance suite with encryption on: every test that opens the store without
/// naming a codec gets the AES-256-GCM codec over a key ring of this test's own.
/// </summary>
public sealed class EncryptedFileStoreHarness : StoreHarness
{
    private readonly FileStoreHarness _files = new();
    private readonly AesGcmCodec _codec = new(new EncryptionKeyRing([
        EncryptionKey.Generate("conformance-key", EncryptionKeyState.Active, DateTimeOffset.UnixEpoch)]));

    public override IPayloadCodec DefaultCodec => _codec;

    public override IStateStore CreateStore(IPayloadCodec codec) => _files.CreateStore(codec);

    public override IEnumerable<byte[]> StoredBytes() => _files.StoredBytes();

    public override void PlantUnknownFormatVersion() => _files.PlantUnknownFormatVersion();

    protected override void Dispose(bool disposing) => _files.Dispose();
}

public sealed class EncryptedFileStoreCommitConformanceTests : CommitConformanceTests<EncryptedFileStoreHarness>;

public sealed class EncryptedFileStoreBlobConformanceTests : BlobConformanceTests<EncryptedFileStoreHarness>;

public sealed class EncryptedFileStoreCheckpointConformanceTests : CheckpointConformanceTests<EncryptedFileStoreHarness>;

public sealed class EncryptedFileStoreCodecConformanceTests : CodecConformanceTests<EncryptedFileStoreHarness>;

public sealed class EncryptedFileStoreSessionLogReaderConformanceTests : SessionLogReaderConformanceTests<EncryptedFileStoreHarness>;

public sealed class EncryptedFileStoreSessionLogGrowthConformanceTests : SessionLogGrowthConformanceTests<EncryptedFileStoreHarness>;

public sealed class EncryptedFileStoreRetentionConformanceTests : RetentionConformanceTests<EncryptedFileStoreHarness>;

public sealed class EncryptedFileStoreTransferConformanceTests : TransferConformanceTests<EncryptedFileStoreHarness>;

public sealed class EncryptedFileStoreTaskArchiveConformanceTests : TaskArchiveConformanceTests<EncryptedFileStoreHarness>;
