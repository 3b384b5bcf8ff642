using StatePersistence.Conformance;
using StatePersistence.FileStore;
using StatePersistence.Serialization;
using StatePersistence.Storage;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Conformance;

/// <summary>The file store under the conformance suite: a state directory of its own per test.</summary>
public sealed class FileStoreHarness : StoreHarness
{
    private readonly TempDirectory _directory = new();

    private string StatePath => _directory.Combine("state");

    public override IStateStore CreateStore(IPayloadCodec codec) =>
        new FileStateStore(new StatePersistenceOptions { StatePath = StatePath }, codec: codec);

    public override IEnumerable<byte[]> StoredBytes() =>
        Directory.EnumerateFiles(StatePath, "*", SearchOption.AllDirectories).Select(File.ReadAllBytes);

    /// <summary>A <c>state.json</c> of a major version this build does not read (as a newer build would write it).</summary>
    public override void PlantUnknownFormatVersion()
    {
        Directory.CreateDirectory(StatePath);
        File.WriteAllText(Path.Combine(StatePath, "state.json"), """{"version":"9.0.0","revision":1,"tasks":[],"sessions":[]}""");
    }

    protected override void Dispose(bool disposing) => _directory.Dispose();
}

public sealed class FileStoreCommitConformanceTests : CommitConformanceTests<FileStoreHarness>;

public sealed class FileStoreBlobConformanceTests : BlobConformanceTests<FileStoreHarness>;

public sealed class FileStoreCheckpointConformanceTests : CheckpointConformanceTests<FileStoreHarness>;

public sealed class FileStoreCodecConformanceTests : CodecConformanceTests<FileStoreHarness>;

public sealed class FileStoreSessionLogReaderConformanceTests : SessionLogReaderConformanceTests<FileStoreHarness>;

public sealed class FileStoreSessionLogGrowthConformanceTests : SessionLogGrowthConformanceTests<FileStoreHarness>;

public sealed class FileStoreRetentionConformanceTests : RetentionConformanceTests<FileStoreHarness>;

public sealed class FileStoreTransferConformanceTests : TransferConformanceTests<FileStoreHarness>;

public sealed class FileStoreTaskArchiveConformanceTests : TaskArchiveConformanceTests<FileStoreHarness>;

public sealed class FileStoreSessionDeletionConformanceTests : SessionDeletionConformanceTests<FileStoreHarness>;
