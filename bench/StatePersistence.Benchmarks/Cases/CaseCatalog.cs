using StatePersistence.Benchmarks.Cases.Floors;
using StatePersistence.Benchmarks.Cases.Peers;
using StatePersistence.Benchmarks.Cases.Postgres;
using StatePersistence.Benchmarks.Cases.StatePersistence;
using StatePersistence.Benchmarks.Harness;
using StatePersistence.Storage;

using StatePersistence.Benchmarks.Cases.Http;

namespace StatePersistence.Benchmarks.Cases;

/// <summary>
/// Every case a run can choose from, in the order they run. To add a case, write an <see cref="IBenchCase"/> in
/// the folder of its group (<c>Peers/</c>, <c>Floors/</c>, <c>StatePersistence/</c>) and add one line here;
/// if it plays a role in a goal, give it the name <see cref="CaseNames"/> has for that role.
/// </summary>
public static class CaseCatalog
{
    private static readonly int[] PostgresWriters = [1, 8, 64];

    /// <summary>Creates the cases (constructors do no I/O, so unselected cases cost nothing).</summary>
    /// <param name="quick">Quick mode leaves out the 100k-task snapshot cases.</param>
    public static IReadOnlyList<IBenchCase> Create(bool quick)
    {
        int[] snapshotTasks = quick ? [1_000, 10_000] : [1_000, 10_000, 100_000];
        return
        [
            // Peers: other ways to store the same ~1 KB task.
            new SqliteUpsertCase("FULL", writers: 1),
            new SqliteUpsertCase("NORMAL", writers: 1),
            new SqliteUpsertCase("FULL", writers: 8),
            new SqliteUpsertCase("NORMAL", writers: 8),
            new LiteDbUpsertCase(writers: 1),
            new LiteDbUpsertCase(writers: 8),
            new WriteAllTextCase(),

            // PostgreSQL peers (a throwaway cluster, see BenchPostgres): the raw Npgsql floor and Marten.
            .. PostgresWriters.Select(n => new NpgsqlUpsertCase(n)),
            .. PostgresWriters.Select(n => new MartenSaveCase(n)),
            // Marten with the indexes the store's task listing keeps (no goal reads it: it shows what the listing costs).
            .. PostgresWriters.Where(n => n > 1).Select(n => new MartenSaveCase(n, indexed: true)),
            // The same floor with a group commit: what batching alone gives (no one-writer case: it has nothing to batch).
            .. PostgresWriters.Where(n => n > 1).Select(n => new NpgsqlGroupedUpsertCase(n)),
            new AtomicRenameCase(),

            // Floors: what the disk allows at best.
            new FsyncInPlaceCase(),
            new AppendFsyncCase(),
            new GroupCommitCase(writers: 8),
            new GroupCommitCase(writers: 64),
            .. snapshotTasks.Select(n => new SnapshotWriteCase(n)),
            .. snapshotTasks.Select(n => new SnapshotLoadCase(n)),

            // StatePersistence: this project's saves and startups, named after CaseNames' sp-* roles.
            new SpSaveCase(CaseNames.SaveFull1, Durability.Full, writers: 1, stored: 1_000),
            new SpSaveCase(CaseNames.SaveFull8, Durability.Full, writers: 8, stored: 1_000),
            new SpSaveCase(CaseNames.SaveFull64, Durability.Full, writers: 64, stored: 1_000),
            new SpSaveCase(CaseNames.SaveRelaxed1, Durability.Relaxed, writers: 1, stored: 1_000),

            // Encryption at rest: the same saves through the AES-256-GCM codec, against the identity codec above.
            new SpSaveCase(CaseNames.SaveFullEncrypted1, Durability.Full, writers: 1, stored: 1_000, encrypted: true),
            new SpSaveCase(CaseNames.SaveFullEncrypted8, Durability.Full, writers: 8, stored: 1_000, encrypted: true),
            .. PostgresWriters.Select(n => new SpPostgresSaveCase(n)),
            new SpPostgresPropagationCase(),

            // The state server over loopback HTTP, beside the library's own saves of the same documents.
            new HttpSaveCase(CaseNames.HttpPut1, writers: 1),
            new HttpSaveCase(CaseNames.HttpPut8, writers: 8),
            new HttpSaveCase(CaseNames.HttpPut64, writers: 64),
            new HttpGetCase(CaseNames.HttpGet1, writers: 1, healthOnly: false),
            new HttpGetCase(CaseNames.HttpGet64, writers: 64, healthOnly: false),
            new HttpGetCase(CaseNames.HttpRoundTrip1, writers: 1, healthOnly: true),
            new WrkLoadCase(CaseNames.HttpPutWrk64, connections: 64, put: true),
            new WrkLoadCase(CaseNames.HttpGetWrk64, connections: 64, put: false),
            .. quick ? Array.Empty<IBenchCase>() :
            [
                new SpSaveCase(CaseNames.SaveFull1At100k, Durability.Full, writers: 1, stored: 100_000),
                new SpSaveDuringSnapshotCase(100_000),
                new SpSnapshotCase(100_000),
                new SpStartupCase(100_000, afterCrash: false),
                new SpStartupCase(100_000, afterCrash: true),
                new SpStartupCase(100_000, afterCrash: false, encrypted: true),
            ],
        ];
    }
}
