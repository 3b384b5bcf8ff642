using StatePersistence.Conformance;
using StatePersistence.InMemory;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.Tests.Conformance;

/// <summary>The in-memory reference store under the conformance suite: one storage per test, outliving its stores.</summary>
public sealed class InMemoryStoreHarness : StoreHarness
{
    private readonly InMemoryStorage _storage = new();

    public override IStateStore CreateStore(IPayloadCodec codec) => new InMemoryStateStore(_storage, codec);

    public override IEnumerable<byte[]> StoredBytes() => _storage.AllBytes();

    /// <summary>A log record whose format version byte is one this build does not read.</summary>
    public override void PlantUnknownFormatVersion() => _storage.AppendRawRecord([99, 0, 0, 0]);
}

public sealed class InMemoryStoreCommitConformanceTests : CommitConformanceTests<InMemoryStoreHarness>;

public sealed class InMemoryStoreBlobConformanceTests : BlobConformanceTests<InMemoryStoreHarness>;

public sealed class InMemoryStoreCheckpointConformanceTests : CheckpointConformanceTests<InMemoryStoreHarness>;

public sealed class InMemoryStoreCodecConformanceTests : CodecConformanceTests<InMemoryStoreHarness>;

public sealed class InMemoryStoreSessionLogReaderConformanceTests : SessionLogReaderConformanceTests<InMemoryStoreHarness>;

public sealed class InMemoryStoreSessionLogGrowthConformanceTests : SessionLogGrowthConformanceTests<InMemoryStoreHarness>;

public sealed class InMemoryStoreRetentionConformanceTests : RetentionConformanceTests<InMemoryStoreHarness>;

public sealed class InMemoryStoreTransferConformanceTests : TransferConformanceTests<InMemoryStoreHarness>;

public sealed class InMemoryStoreTaskArchiveConformanceTests : TaskArchiveConformanceTests<InMemoryStoreHarness>;

public sealed class InMemoryStoreSessionDeletionConformanceTests : SessionDeletionConformanceTests<InMemoryStoreHarness>;
