using StatePersistence.CrashTests.Support;
using StatePersistence.Encryption;
using StatePersistence.Model;
using static StatePersistence.CrashTests.Enumeration.Items;

namespace StatePersistence.CrashTests.Enumeration;

/// <summary>
/// Workloads with encryption at rest on (the real AES-256-GCM codec), crashed before every file-system operation: the
/// journal, snapshots and item files are sealed, and a key rotation followed by checkpoints that re-seal the state under
/// the new key is interrupted at every point. Recovery must open whatever mix of keys the crash left.
/// </summary>
public sealed class EncryptedWorkloadTests(ReliabilityLedger ledger)
{
    [Fact]
    public Task EncryptedSavesAndKeyRotationWithCheckpoints_CrashedAnywhere_KeepEveryAcknowledgedSave()
    {
        var keys = new RotatingKeys();
        return new CrashPointExplorer(new Workload("encryption: saves, key rotation, checkpoints", async run =>
        {
            keys.Rotate();
            await run.SaveTask(NewTask("c"));
            await run.UpdateTask("a", Progress(TaskStatuses.InProgress, "started"));
            await run.Snapshot();
            await run.DeleteTask("b");
            await run.Snapshot();
        })
        {
            Configure = o => o.PayloadCodec = new AesGcmCodec(keys),
            Setup = async run =>
            {
                // Every run (the dry one and one per crash point) starts under the first key alone.
                keys.Reset();
                await run.SaveTask(NewTask("a"));
                await run.SaveTask(NewTask("b"));
                await run.Snapshot();
            },
        }, ledger).ExploreAsync();
    }

    /// <summary>A key ring the workload rotates: the first key active, then a second one active and the first retired.</summary>
    private sealed class RotatingKeys : IEncryptionKeyProvider
    {
        private static readonly EncryptionKey First = EncryptionKey.Generate("key-1", EncryptionKeyState.Active, Services.Epoch);
        private static readonly EncryptionKey Second = EncryptionKey.Generate("key-2", EncryptionKeyState.Active, Services.Epoch);
        private EncryptionKeyRing _ring = new([First]);

        public EncryptionKeyRing GetKeyRing() => Volatile.Read(ref _ring);

        public void Reset() => Volatile.Write(ref _ring, new EncryptionKeyRing([First]));

        public void Rotate() => Volatile.Write(ref _ring, new EncryptionKeyRing([First]).WithActive(Second));
    }
}
