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

    /// <summary>
    /// The background re-encryption after a rotation, crashed before every file-system operation of it: item files,
    /// the session log, the report, backups, a task archive, <c>state.json</c> and the journal are rewritten under the
    /// second key. Every acknowledged save, log line and report must come back (recovery opens whatever mix of keys the
    /// crash left, which it could not if a file were under a key outside the ring), the archive is whole under one key
    /// or the other (the second once the re-encryption returned), and the next start's re-encryption finishes.
    /// </summary>
    [Fact]
    public Task ReencryptionAfterARotation_CrashedAnywhere_KeepsEverything_AndResumes()
    {
        var keys = new RotatingKeys();
        var archive = new ArchiveUnderRotation("key-1", "key-2");
        return ExploreReencryptionAsync("encryption: background re-encryption after a rotation", keys, archive, async run =>
        {
            keys.Rotate();
            await archive.ReencryptAsync(run, "re-encrypt");
            await run.SaveTask(NewTask("c"));
        });
    }

    /// <summary>
    /// Encryption turned off in place (issue 15 item 3): the key ring keeps the key, retired, with none active, and the
    /// background re-encryption rewrites item files, the session log, the report, backups, <c>state.json</c> and the
    /// journal in the clear, crashed before every file-system operation of it. Every acknowledged save, log line and
    /// report must come back from whatever mix of sealed and clear files the crash left, a task archive is whole, sealed
    /// under the key or in the clear (in the clear once the re-encryption returned), and the next start finishes.
    /// </summary>
    [Fact]
    public Task DisablingEncryption_ReencryptionToTheClear_CrashedAnywhere_KeepsEverything_AndResumes()
    {
        var keys = new RotatingKeys();
        var archive = new ArchiveUnderRotation("key-1", ArchiveUnderRotation.Clear);
        return ExploreReencryptionAsync("encryption: turned off, background re-encryption to the clear", keys, archive, async run =>
        {
            keys.Disable();
            await archive.ReencryptAsync(run, "re-encrypt to the clear");
            await run.SaveTask(NewTask("c"));
            await run.AppendLog("s1", "written in the clear\n");
        });
    }

    /// <summary>
    /// The re-encryption workloads' common frame: under <paramref name="keys"/>, a seeded archive, tasks in files, the
    /// journal and snapshots, a session log and a report; then <paramref name="phase"/> crashed everywhere, each crash
    /// image's archive checked, and the next start's re-encryption run to its end.
    /// </summary>
    private Task ExploreReencryptionAsync(string name, RotatingKeys keys, ArchiveUnderRotation archive, Func<WorkloadRun, Task> phase) =>
        new CrashPointExplorer(new Workload(name, phase)
        {
            Configure = o => o.PayloadCodec = new AesGcmCodec(keys),
            CheckImage = (image, _) => archive.Check(image),
            WriteLengthVaries = ArchiveUnderRotation.IsArchiveFile,
            Setup = async run =>
            {
                keys.Reset();
                await archive.SeedAsync(run);
                await run.SaveTask(NewTask("a"));
                await run.SaveSession(new SessionInfo { Id = "s1", Type = "interactive", Status = "active" });
                await run.AppendLog("s1", "first line\n");
                await run.SaveReport("r1", System.Text.Json.JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["summary"] = "kept" }));
                await run.Snapshot();
                await run.SaveTask(NewTask("b"));
                await run.Snapshot();
                await run.UpdateTask("a", Progress(TaskStatuses.InProgress, "journal only"));
            },
            AfterRestart = async run => Assert.True(await run.Service.ReencryptToEndAsync() >= 1),
        }, ledger).ExploreAsync();

    /// <summary>A key ring the workload rotates: the first key active, then a second one active and the first retired.</summary>
    internal sealed class RotatingKeys : IEncryptionKeyProvider
    {
        private static readonly EncryptionKey First = EncryptionKey.Generate("key-1", EncryptionKeyState.Active, Services.Epoch);
        private static readonly EncryptionKey Second = EncryptionKey.Generate("key-2", EncryptionKeyState.Active, Services.Epoch);
        private EncryptionKeyRing _ring = new([First]);

        /// <summary>The ring after <see cref="Rotate"/>: both keys, the second active.</summary>
        public static EncryptionKeyRing Rotated { get; } = new EncryptionKeyRing([First]).WithActive(Second);

        public EncryptionKeyRing GetKeyRing() => Volatile.Read(ref _ring);

        public void Reset() => Volatile.Write(ref _ring, new EncryptionKeyRing([First]));

        public void Rotate() => Volatile.Write(ref _ring, Rotated);

        /// <summary>Encryption turned off: the first key retired, none active.</summary>
        public void Disable() => Volatile.Write(ref _ring, new EncryptionKeyRing([First]).WithoutActive());
    }
}
