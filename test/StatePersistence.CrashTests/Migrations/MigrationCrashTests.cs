using System.Text;
using StatePersistence.CrashTests.Support;
using StatePersistence.FileStore;
using StatePersistence.FileStore.Migrations;
using StatePersistence.FileSystem;
using StatePersistence.Testing.CrashSimulation;
using StatePersistence.Testing.Fixtures;
using static StatePersistence.CrashTests.Migrations.MigratingOpen;

namespace StatePersistence.CrashTests.Migrations;

/// <summary>
/// The Node import, crashed before every file-system operation of the open that migrates (backup, steps, recovery,
/// version update, validation, log, commit) and once after the last, every crash state sampled under both crash
/// models: the next open must load exactly what an uncrashed migration loads (the run resumed, or was rolled back
/// and run again, never half-migrated), and a rollback from there must give back the Node directory byte for byte,
/// having moved what it discarded aside, never lost it.
/// </summary>
public sealed class MigrationCrashTests(ReliabilityLedger ledger)
{
    private const int StatesPerPoint = 6;

    [Fact]
    public async Task NodeImport_CrashedAnywhere_ResumesOrRollsBack_NeverHalfMigrated()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var sweep = new CrashPointSweep(ledger, "migration: Node import at open", StatesPerPoint);
        CrashSimulatingFileSystem dry = Seeded();
        int start = dry.OperationCount;
        await OpenAsync(dry, ct);
        sweep.Begin(dry, start);
        string expected = await LoadAsync(dry, ct);
        Assert.Contains("log sess_a: " + NodeStateDirectory.SessionALog, expected, StringComparison.Ordinal);

        foreach (int point in sweep.Points)
        {
            CrashSimulatingFileSystem disk = Seeded();
            await sweep.RunAsync(disk, point, () => OpenAsync(disk, ct));
            await sweep.CheckStatesAsync(disk, point, image => CheckAsync(image, expected, ct));
        }

        sweep.ThrowIfAny();
    }

    /// <summary>
    /// The same over a Node directory holding a <c>state.pre-migration.backup.json</c> of its own (the seed's name for
    /// the Node implementation's own migration backups), which the run's copy of state.json must not take for its own:
    /// before 2026-12-07 the backup copied state.json over it, and no rollback gave it back.
    /// </summary>
    [Fact]
    public async Task NodeImport_OfADirectoryWithItsOwnPreMigrationBackup_CrashedAnywhere_KeepsThatBackup()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var sweep = new CrashPointSweep(ledger, "migration: Node import at open, its own pre-migration backup", StatesPerPoint);
        CrashSimulatingFileSystem dry = Seeded(WithOwnBackup);
        int start = dry.OperationCount;
        await OpenAsync(dry, ct);
        sweep.Begin(dry, start);
        string expected = await LoadAsync(dry, ct);

        foreach (int point in sweep.Points)
        {
            CrashSimulatingFileSystem disk = Seeded(WithOwnBackup);
            await sweep.RunAsync(disk, point, () => OpenAsync(disk, ct));
            await sweep.CheckStatesAsync(disk, point, image => CheckAsync(image, expected, ct, WithOwnBackup));
        }

        sweep.ThrowIfAny();
    }

    /// <summary>
    /// A directory rolled back, saved again by the Node server (a new <c>state.json</c>), then migrated once more, that
    /// open crashed anywhere. The new backup first deletes the earlier run's copy of state.json at the seed's name,
    /// then that run's manifest: a power cut that brought the copy back with no manifest naming it would have the next
    /// backup take it for the directory's own file (it no longer equals state.json), and the rollback put it into the
    /// Node directory.
    /// </summary>
    [Fact]
    public async Task NodeImportAgain_AfterARollbackAndANodeSave_CrashedAnywhere_NeverKeepsTheEarlierRunsCopy()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var sweep = new CrashPointSweep(ledger, "migration: Node import again after a rollback and a Node save", StatesPerPoint);
        CrashSimulatingFileSystem dry = await RolledBackAndSavedByNodeAsync(ct);
        int start = dry.OperationCount;
        await OpenAsync(dry, ct);
        sweep.Begin(dry, start);
        string expected = await LoadAsync(dry, ct);
        Assert.Contains("sess_c", expected, StringComparison.Ordinal);

        foreach (int point in sweep.Points)
        {
            CrashSimulatingFileSystem disk = await RolledBackAndSavedByNodeAsync(ct);
            await sweep.RunAsync(disk, point, () => OpenAsync(disk, ct));
            await sweep.CheckStatesAsync(disk, point, image => CheckAsync(image, expected, ct, SavedByNode));
        }

        sweep.ThrowIfAny();
    }

    [Fact]
    public async Task Rollback_CrashedAnywhere_IsFinishedBeforeAnythingElse_NeverBackedUpHalfRestored()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var sweep = new CrashPointSweep(ledger, "migration: rollback", StatesPerPoint);
        CrashSimulatingFileSystem dry = await MigratedAsync(ct);
        string expected = await LoadAsync(dry, ct);
        Dictionary<string, byte[]> migrated = FilesOf(dry);
        int start = dry.OperationCount;
        Rollback(dry);
        string discardedTo = new PreMigrationBackup(dry, new StateLayout(Root)).ReadManifest()!.DiscardedTo!;
        sweep.Begin(dry, start);

        foreach (int point in sweep.Points)
        {
            CrashSimulatingFileSystem disk = await MigratedAsync(ct);
            await sweep.RunAsync(disk, point, () =>
            {
                Rollback(disk);
                return Task.CompletedTask;
            });
            // Nothing the migrated directory held is lost, wherever the rollback stopped: each file is where it was
            // or moved aside. Then the application starts on whatever the crash left (it migrates again, or finishes
            // the interrupted rollback first), and the operator rolls back once more.
            await sweep.CheckStatesAsync(disk, point, async image =>
                DiscardedFileLost(CrashSimulatingFileSystem.FromImage(image), migrated, discardedTo) ?? await CheckAsync(image, expected, ct));
        }

        sweep.ThrowIfAny();
    }

    private static async Task<CrashSimulatingFileSystem> MigratedAsync(CancellationToken ct)
    {
        CrashSimulatingFileSystem disk = Seeded();
        await OpenAsync(disk, ct);
        return disk;
    }

    /// <summary>The Node directory migrated, rolled back, and saved again by the Node server (<see cref="SavedByNode"/>), durably.</summary>
    private static async Task<CrashSimulatingFileSystem> RolledBackAndSavedByNodeAsync(CancellationToken ct)
    {
        CrashSimulatingFileSystem disk = await MigratedAsync(ct);
        Rollback(disk);
        NodeStateDirectory.WriteTo(disk, Root, new Dictionary<string, byte[]> { ["state.json"] = SavedByNode["state.json"] });
        return disk;
    }

    /// <summary>The Node fixture after the Node server saved its state again, with a session more.</summary>
    private static readonly IReadOnlyDictionary<string, byte[]> SavedByNode = new SortedDictionary<string, byte[]>(
        NodeStateDirectory.Files.ToDictionary(), StringComparer.Ordinal)
    {
        ["state.json"] = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(NodeStateDirectory.Files["state.json"])
            .Replace("\"model\": \"opus\"}", "\"model\": \"opus\"},\n    {\"id\": \"sess_c\", \"type\": \"claude\", \"status\": \"active\", \"created_at\": \"2024-01-02T10:00:00Z\"}", StringComparison.Ordinal)),
    };

    /// <summary>The Node fixture with a <c>state.pre-migration.backup.json</c> of its own, as the seed's Node server kept one.</summary>
    private static readonly IReadOnlyDictionary<string, byte[]> WithOwnBackup = new SortedDictionary<string, byte[]>(
        NodeStateDirectory.Files.ToDictionary(), StringComparer.Ordinal)
    {
        [PreMigrationBackup.StateCopyName] = """{"version": "0.9.0", "task_list": [{"id": "task_0", "status": "pending"}]}"""u8.ToArray(),
    };

    /// <summary>Whether the directory holds exactly the Node files (null) or what differs.</summary>
    private static string? NodeFilesProblem(IFileSystem fileSystem, IReadOnlyDictionary<string, byte[]>? nodeFiles = null)
    {
        nodeFiles ??= NodeStateDirectory.Files;
        foreach ((string relative, byte[] bytes) in nodeFiles)
        {
            string path = Root + "/" + relative;
            if (!fileSystem.FileExists(path) || !fileSystem.ReadAllBytes(path).AsSpan().SequenceEqual(bytes))
            {
                return $"after the rollback '{relative}' is not the Node file byte for byte";
            }
        }

        List<string> extra = [.. new PreMigrationBackup(fileSystem, new StateLayout(Root)).ListFiles().Where(f => !nodeFiles.ContainsKey(f))];
        return extra.Count == 0 ? null : $"after the rollback these files remain: {string.Join(", ", extra)}";
    }

    /// <summary>The files a rollback may change or move aside, with their bytes.</summary>
    private static Dictionary<string, byte[]> FilesOf(IFileSystem fileSystem) =>
        new PreMigrationBackup(fileSystem, new StateLayout(Root)).ListFiles().ToDictionary(f => f, f => fileSystem.ReadAllBytes(Root + "/" + f), StringComparer.Ordinal);

    /// <summary>A file of the migrated directory found neither at its path nor moved aside with its bytes, or null.</summary>
    private static string? DiscardedFileLost(IFileSystem fileSystem, Dictionary<string, byte[]> migrated, string discardedTo)
    {
        foreach ((string relative, byte[] bytes) in migrated)
        {
            string moved = $"{Root}/{discardedTo}/{relative}";
            IEnumerable<string> places = [Root + "/" + relative, moved, .. Enumerable.Range(1, 3).Select(n => $"{moved}.{n}")];
            if (!places.Any(p => fileSystem.FileExists(p) && fileSystem.ReadAllBytes(p).AsSpan().SequenceEqual(bytes)))
            {
                return $"'{relative}' as the migrated directory held it is neither in place nor in {discardedTo}/: the rollback lost it";
            }
        }

        return null;
    }

    /// <summary>Boots a crash state: it must load what the uncrashed migration loaded, and roll back to the Node files exactly.</summary>
    private static async Task<string?> CheckAsync(DurableImage image, string expected, CancellationToken ct,
        IReadOnlyDictionary<string, byte[]>? nodeFiles = null)
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
            return NodeFilesProblem(booted, nodeFiles);
        }
        catch (Exception ex)
        {
            return "the next open or the rollback failed: " + ex;
        }
    }

    private static CrashSimulatingFileSystem Seeded(IReadOnlyDictionary<string, byte[]>? nodeFiles = null)
    {
        var disk = new CrashSimulatingFileSystem();
        NodeStateDirectory.WriteTo(disk, Root, nodeFiles ?? NodeStateDirectory.Files);
        return disk;
    }
}
