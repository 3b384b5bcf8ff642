using System.Buffers.Binary;
using StatePersistence.CrashTests.Support;
using StatePersistence.FileSystem;
using StatePersistence.Model;
using StatePersistence.Testing.CrashSimulation;
using static StatePersistence.CrashTests.Enumeration.Items;

namespace StatePersistence.CrashTests.Enumeration;

/// <summary>
/// Start-up recovery itself, crashed before every one of its operations: quarantining a corrupt state.json and task
/// file, trimming a log's NUL tail, ignoring a torn journal record and removing leftover temp files. Each crash
/// state is then recovered again (twice, by the checker).
/// </summary>
public sealed class RecoveryWorkloadTests(ReliabilityLedger ledger)
{
    private const string Root = CrashSimulatingFileSystem.DefaultRoot;

    /// <summary>Acknowledged data in a snapshot and in the journal after it.</summary>
    private static async Task SnapshotThenJournal(WorkloadRun run)
    {
        await run.SaveTask(NewTask("a"));
        await run.SaveTask(NewTask("b"));
        await run.Snapshot();
        await run.SaveTask(NewTask("c"));
        await run.UpdateTask("a", Progress(TaskStatuses.InProgress, "started"));
        await run.DeleteTask("b");
    }

    private static void WriteDurably(IFileSystem disk, string path, ReadOnlySpan<byte> bytes, bool append = false)
    {
        using (IFileHandle handle = disk.Open(path, append ? FileOpenMode.OpenOrCreate : FileOpenMode.CreateOrTruncate))
        {
            handle.Write(append ? handle.Length : 0, bytes);
            handle.Sync();
        }

        disk.SyncDirectory(Path.GetDirectoryName(path)!);
    }

    /// <summary>state.json cut in half and tasks/a.json zeroed, as a disk error might leave them.</summary>
    private static Workload CorruptStateWorkload(string name, CorruptFiles corrupt) => new(name, async run =>
    {
        await run.SaveTask(NewTask("d"));
        await run.Snapshot();
    })
    {
        Setup = SnapshotThenJournal,
        BeforeRestart = (disk, _) =>
        {
            byte[] state = disk.ReadAllBytes(Root + "/state.json");
            corrupt.StateFile = state[..(state.Length / 2)];
            corrupt.TaskFile = new byte[disk.ReadAllBytes(Root + "/tasks/a.json").Length];
            WriteDurably(disk, Root + "/state.json", corrupt.StateFile);
            WriteDurably(disk, Root + "/tasks/a.json", corrupt.TaskFile);
        },
        CheckImage = corrupt.Check,
    };

    [Fact]
    public Task RecoveryQuarantiningCorruptFiles_CrashedAnywhere_LosesNothingAndKeepsTheEvidence() =>
        new CrashPointExplorer(CorruptStateWorkload("recovery: quarantine corrupt state.json and task file", new CorruptFiles()), ledger).ExploreAsync();

    [Fact]
    public Task RecoveryQuarantiningCorruptFiles_KilledAnywhere_ThenRestartAndPowerLoss_LosesNothing() =>
        new CrashPointExplorer(CorruptStateWorkload("recovery: quarantine, kill -9, restart, power loss", new CorruptFiles()) with
        {
            Crash = CrashKind.KillThenPowerLoss,
            AfterRestart = run => run.SaveTask(NewTask("e")),
        }, ledger).ExploreAsync();

    [Fact]
    public Task RecoveryOfTornTailsAndTempFiles_CrashedAnywhere_ShowsOnlyWhatWasAcknowledged() =>
        new CrashPointExplorer(new Workload("recovery: torn journal tail, NUL log tail, temp files", async run =>
        {
            await run.AppendLog("s1", "two\n");
            await run.SaveTask(NewTask("c"));
            await run.Snapshot();
        })
        {
            Setup = async run =>
            {
                await run.SaveTask(NewTask("a"));
                await run.AppendLog("s1", "one\n");
                await run.Snapshot();
                await run.SaveTask(NewTask("b"));
            },
            BeforeRestart = (disk, _) =>
            {
                // A record header whose payload never reached the disk, NULs where an append's data did not, and
                // the temp files of a checkpoint that did not finish.
                var torn = new byte[28];
                BinaryPrimitives.WriteUInt32LittleEndian(torn, 0x314A5053);
                BinaryPrimitives.WriteInt32LittleEndian(torn.AsSpan(4), 200);
                string segment = disk.ListFiles(Root + "/journal").Order(StringComparer.Ordinal).Last();
                WriteDurably(disk, Root + "/journal/" + segment, torn, append: true);
                WriteDurably(disk, Root + "/logs/session_s1.log", new byte[6], append: true);
                WriteDurably(disk, Root + "/tasks/zz.json.tmp", "{\"id\":\"zz\""u8);
                WriteDurably(disk, Root + "/state.json.tmp", "{"u8);
            },
        }, ledger).ExploreAsync();

    [Fact]
    public Task RecoveryCuttingATornLogTail_CrashedAnywhere_KeepsTheCutBytes() =>
        new CrashPointExplorer(TornLogTailWorkload(new TornLogTail()), ledger).ExploreAsync();

    [Fact]
    public Task RecoveryKeepingATornJournalTail_CrashedAnywhere_KeepsItsBytes_ThroughTheCheckpointThatDeletesTheSegment() =>
        new CrashPointExplorer(TornJournalTailWorkload(new TornJournalTail()), ledger).ExploreAsync();

    /// <summary>
    /// A journal segment ending in a record that does not check out (what a power cut leaves, and what the last
    /// records damaged or cut short at rest leave): start-up keeps those bytes aside, and the checkpoint after it
    /// deletes the segment; a crash anywhere must leave them in the segment or in a durable copy, never in neither.
    /// </summary>
    private static Workload TornJournalTailWorkload(TornJournalTail tail) => new("recovery: a journal segment's torn tail kept aside, then the segment retired",
        async run =>
        {
            await run.SaveTask(NewTask("c"));
            await run.Snapshot();
        })
    {
        Setup = async run =>
        {
            await run.SaveTask(NewTask("a"));
            await run.SaveTask(NewTask("b"));
        },
        BeforeRestart = (disk, _) =>
        {
            // A record header whose checksum and payload do not hold, no valid record after it.
            tail.Bytes = new byte[28];
            tail.Bytes.AsSpan().Fill(0xAB);
            BinaryPrimitives.WriteUInt32LittleEndian(tail.Bytes, 0x314A5053);
            BinaryPrimitives.WriteInt32LittleEndian(tail.Bytes.AsSpan(4), 200);
            string segment = disk.ListFiles(Root + "/journal").Where(n => n.EndsWith(".wal", StringComparison.Ordinal)).Order(StringComparer.Ordinal).Last();
            WriteDurably(disk, Root + "/journal/" + segment, tail.Bytes, append: true);
        },
        CheckImage = tail.Check,
    };

    /// <summary>The torn tail written after a segment's records, which must never disappear: in the segment, or kept aside.</summary>
    private sealed class TornJournalTail
    {
        public byte[] Bytes { get; set; } = [];

        public string? Check(DurableImage image, CrashSimulatingFileSystem recovered)
        {
            bool Held(DurableImage disk, bool copy) => disk.Files.Any(f =>
                f.Key.Contains("/journal/", StringComparison.Ordinal) && f.Key.Contains(".corrupt.", StringComparison.Ordinal) == copy
                && f.Value.Span.IndexOf(Bytes) >= 0);

            if (!Held(image, copy: false) && !Held(image, copy: true))
            {
                return "the torn journal tail is gone from the crash image: neither in its segment nor kept aside";
            }

            return Held(recovered.DurableState, copy: true) ? null : "after recovery the torn journal tail is not kept aside (durably, with its bytes)";
        }
    }

    /// <summary>
    /// A session log ending in the first half of an append (what a power cut leaves, and what a log cut short at rest
    /// leaves): start-up keeps those bytes aside and then cuts them; a crash anywhere in between must leave them in
    /// the log or in a durable copy, never in neither.
    /// </summary>
    private static Workload TornLogTailWorkload(TornLogTail tail) => new("recovery: a session log's torn tail kept aside, then cut",
        run => run.AppendLog("s1", "two\n"))
    {
        Setup = run => run.AppendLog("s1", "one\n"),
        BeforeRestart = (disk, _) =>
        {
            byte[] append = FileStore.SessionLog.SessionLogFormat.Frame("an append cut short\n"u8, null);
            tail.Bytes = append[..(append.Length / 2)];
            WriteDurably(disk, TornLogTail.Log, tail.Bytes, append: true);
        },
        CheckImage = tail.Check,
    };

    /// <summary>The torn tail written after a log, which must never disappear: at the log's end, or kept aside.</summary>
    private sealed class TornLogTail
    {
        public const string Log = Root + "/logs/session_s1.log";

        public byte[] Bytes { get; set; } = [];

        public string? Check(DurableImage image, CrashSimulatingFileSystem recovered)
        {
            bool KeptAside(DurableImage disk) =>
                disk.Files.Any(f => f.Key.Contains(".corrupt.", StringComparison.Ordinal) && f.Value.Span.SequenceEqual(Bytes));

            if (!(image.FileExists(Log) && image.ReadFile(Log).AsSpan().EndsWith(Bytes)) && !KeptAside(image))
            {
                return "the torn log tail is gone from the crash image: neither at the log's end nor kept aside";
            }

            return KeptAside(recovered.DurableState) ? null : "after recovery the torn log tail is not kept aside (durably, with its bytes)";
        }
    }

    /// <summary>The bytes of the corrupted files, which must never disappear: at their place, or quarantined.</summary>
    private sealed class CorruptFiles
    {
        public byte[] StateFile { get; set; } = [];

        public byte[] TaskFile { get; set; } = [];

        public string? Check(DurableImage image, CrashSimulatingFileSystem recovered)
        {
            DurableImage after = recovered.DurableState;
            foreach ((string what, byte[] bytes) in (ReadOnlySpan<(string, byte[])>)[("state.json", StateFile), ("tasks/a.json", TaskFile)])
            {
                if (!image.Files.Values.Any(f => f.Span.SequenceEqual(bytes)))
                {
                    return $"the corrupt {what} is gone from the crash image: evidence lost";
                }

                if (!after.Files.Any(f => f.Key.Contains(".corrupt.", StringComparison.Ordinal) && f.Value.Span.SequenceEqual(bytes)))
                {
                    return $"after recovery the corrupt {what} is not quarantined (durably, with its bytes)";
                }
            }

            return null;
        }
    }
}
