using StatePersistence.CrashTests.Support;
using StatePersistence.FileStore.Migrations;
using StatePersistence.FileSystem;
using StatePersistence.FileStore;
using StatePersistence.Testing.CrashSimulation;
using StatePersistence.Testing.Fixtures;
using static StatePersistence.CrashTests.Migrations.MigratingOpen;

namespace StatePersistence.CrashTests.Migrations;

/// <summary>
/// A migration that finds its backup folder already made, its name not durable: another open made it and was killed
/// before its fsync of the state directory. Every open fsyncs the state directory before it takes the lock, so only an
/// open that did so before the folder was made, while the other held the lock, finds it so. Take then skips the mkdir
/// and its fsync; only its fsync of the state directory after the copies makes the folder's name durable before the
/// steps change files. The Node directory here has no <c>state.json</c> (the import takes its newest backup), so no
/// copy lands in the state directory itself and the fsyncs of the copies' directories do not cover it. That open is
/// crashed before every one of its file-system operations and once after the last, every crash state sampled under
/// both crash models: the next open must load what an uncrashed one loads, and a rollback must give back the Node
/// files exactly, never a half-migrated directory whose backup went with the folder's name.
/// </summary>
public sealed class UndurableBackupFolderCrashTests(ReliabilityLedger ledger)
{
    private const string Folder = Root + "/" + PreMigrationBackup.DirectoryName;
    private const int StatesPerPoint = 6;

    [Fact]
    public async Task NodeImportWithoutStateJson_OverABackupFolderWhoseNameIsNotDurable_CrashedAnywhere_NeverLosesTheBackup()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var sweep = new CrashPointSweep(ledger, "migration: Node import over a backup folder whose name is not durable", StatesPerPoint);
        RaceLoser dry = await AfterTheWinnerWasKilledAsync(ct);
        int start = dry.Disk.OperationCount;
        await dry.FinishAsync();
        sweep.Begin(dry.Disk, start);
        string expected = await LoadAsync(dry.Disk, ct);
        Assert.Contains("log sess_a: " + NodeStateDirectory.SessionALog, expected, StringComparison.Ordinal);

        foreach (int point in sweep.Points)
        {
            RaceLoser loser = await AfterTheWinnerWasKilledAsync(ct);
            await sweep.RunAsync(loser.Disk, point, loser.FinishAsync);
            await sweep.CheckStatesAsync(loser.Disk, point, image => CheckAsync(image, expected, ct));
        }

        sweep.ThrowIfAny();
    }

    /// <summary>The open that lost the race: its directories fsynced, held before it takes the lock.</summary>
    private sealed record RaceLoser(CrashSimulatingFileSystem Disk, Gate BeforeLock, Task Open)
    {
        /// <summary>Lets it take the lock and migrate; returns when its open is done (or crashed).</summary>
        public Task FinishAsync()
        {
            BeforeLock.Release();
            return Open;
        }
    }

    /// <summary>
    /// Two opens of the Node directory race. The loser fsyncs the state directory (every open does, before it takes the
    /// lock) and is held there; the winner takes the lock, makes the backup folder and is killed (kill -9, no power cut:
    /// the page cache lives on) before its fsync of the state directory, its lock going with it. The loser, let
    /// through, takes the lock and finds the folder there, its name not durable.
    /// </summary>
    private static async Task<RaceLoser> AfterTheWinnerWasKilledAsync(CancellationToken ct)
    {
        CrashSimulatingFileSystem disk = Seeded();
        var loser = new ProcessFileSystem(disk);
        Gate beforeLock = loser.HoldAt("the loser's lock", c => c.Kind == SimulatedOperationKind.AcquireLock);
        Task loserOpen = Task.Run(() => OpenAsync(loser, ct), ct);
        await beforeLock.ReachedByAsync(loserOpen, ct);

        var winner = new ProcessFileSystem(disk);
        Gate afterMkdir = winner.HoldAt("the winner's fsync after the mkdir",
            c => c.Kind == SimulatedOperationKind.SyncDirectory && c.Path == Root && FolderJustMade(disk));
        Task winnerOpen = Task.Run(() => OpenAsync(winner, ct), ct);
        await afterMkdir.ReachedByAsync(winnerOpen, ct);
        winner.Kill();
        afterMkdir.Release();
        await Assert.ThrowsAnyAsync<Exception>(() => winnerOpen);
        Assert.True(disk.DirectoryExists(Folder) && !disk.DurableState.Directories.Contains(Folder), "the backup folder should exist, its name not durable");
        return new RaceLoser(disk, beforeLock, loserOpen);
    }

    /// <summary>Whether the last operation on <paramref name="disk"/> was the mkdir of the backup folder.</summary>
    private static bool FolderJustMade(CrashSimulatingFileSystem disk) =>
        disk.Operations is [.., { Kind: SimulatedOperationKind.CreateDirectory, Path: Folder }];

    /// <summary>Boots a crash state: it must load what the uncrashed open loaded, and roll back to the Node files exactly.</summary>
    private static async Task<string?> CheckAsync(DurableImage image, string expected, CancellationToken ct)
    {
        CrashSimulatingFileSystem booted = CrashSimulatingFileSystem.FromImage(image);
        try
        {
            string loaded = await LoadAsync(booted, ct);
            if (loaded != expected)
            {
                return $"the next open loaded\n{loaded}\ninstead of\n{expected}";
            }

            Rollback(booted);
            return NodeFilesProblem(booted);
        }
        catch (Exception ex)
        {
            return "the next open or the rollback failed: " + ex;
        }
    }

    /// <summary>Whether the directory holds exactly the Node files but <c>state.json</c> (null) or what differs.</summary>
    private static string? NodeFilesProblem(IFileSystem fileSystem)
    {
        foreach ((string relative, byte[] bytes) in NodeFiles)
        {
            string path = Root + "/" + relative;
            if (!fileSystem.FileExists(path) || !fileSystem.ReadAllBytes(path).AsSpan().SequenceEqual(bytes))
            {
                return $"after the rollback '{relative}' is not the Node file byte for byte";
            }
        }

        List<string> extra = [.. new PreMigrationBackup(fileSystem, new StateLayout(Root)).ListFiles().Where(f => !NodeFiles.ContainsKey(f))];
        return extra.Count == 0 ? null : $"after the rollback these files remain: {string.Join(", ", extra)}";
    }

    /// <summary>The Node fixture's files but <c>state.json</c>.</summary>
    private static Dictionary<string, byte[]> NodeFiles =>
        NodeStateDirectory.Files.Where(f => f.Key != "state.json").ToDictionary(f => f.Key, f => f.Value, StringComparer.Ordinal);

    /// <summary>
    /// The Node directory without <c>state.json</c>: with it, its copy would go into the state directory, whose fsync
    /// as one of the copies' directories would make the folder's name durable too.
    /// </summary>
    private static CrashSimulatingFileSystem Seeded()
    {
        var disk = new CrashSimulatingFileSystem();
        NodeStateDirectory.WriteTo(disk, Root);
        disk.Delete(Root + "/state.json");
        disk.SyncDirectory(Root);
        return disk;
    }
}
