namespace StatePersistence.Benchmarks.Cases;

/// <summary>
/// The names cases are reported under. <see cref="Results.Goals"/> and the human table find cases by these
/// names, so a case that plays one of these roles must use the matching name.
/// </summary>
public static class CaseNames
{
    /// <summary>SQLite WAL, synchronous=FULL, one writer.</summary>
    public const string SqliteFull1 = "sqlite-wal-full/1w";

    /// <summary>SQLite WAL, synchronous=FULL, eight writers.</summary>
    public const string SqliteFull8 = "sqlite-wal-full/8w";

    /// <summary>SQLite WAL, synchronous=NORMAL, one writer.</summary>
    public const string SqliteNormal1 = "sqlite-wal-normal/1w";

    /// <summary>LiteDB upsert, eight writers.</summary>
    public const string LiteDb8 = "litedb/8w";

    /// <summary>The raw floor: overwrite an allocated file in place and fsync it.</summary>
    public const string FsyncInPlace = "fsync-inplace/1w";

    /// <summary>The raw floor: append a framed record and fsync, one writer.</summary>
    public const string AppendFsync1 = "append-fsync/1w";

    /// <summary>The raw group-commit floor with eight writers.</summary>
    public const string GroupCommit8 = "group-commit/8w";

    /// <summary>The raw group-commit floor with 64 writers.</summary>
    public const string GroupCommit64 = "group-commit/64w";

    /// <summary>Loading a 100k-task snapshot with System.Text.Json (full mode only).</summary>
    public const string SnapshotLoad100k = "snapshot-load/100k";

    /// <summary>This project's save, Full durability, one writer, 1k tasks stored.</summary>
    public const string SaveFull1 = "sp-save-full/1w";

    /// <summary>This project's save, Full durability, eight writers.</summary>
    public const string SaveFull8 = "sp-save-full/8w";

    /// <summary>This project's save, Full durability, 64 writers.</summary>
    public const string SaveFull64 = "sp-save-full/64w";

    /// <summary>This project's save, Relaxed durability, one writer.</summary>
    public const string SaveRelaxed1 = "sp-save-relaxed/1w";

    /// <summary>This project's save, Full durability, one writer, 100k tasks stored.</summary>
    public const string SaveFull1At100k = "sp-save-full-100k-stored/1w";

    /// <summary>This project's save, Full durability, one writer, while a 100k-task snapshot is written.</summary>
    public const string SaveFull1DuringSnapshot = "sp-save-full-during-snapshot/1w";

    /// <summary>This project's snapshot (checkpoint) of 100k tasks.</summary>
    public const string Snapshot100k = "sp-snapshot/100k";

    /// <summary>This project's startup of a directory of 100k tasks after a clean shutdown.</summary>
    public const string StartupClean100k = "sp-startup-clean/100k";

    /// <summary>This project's startup of a directory of 100k tasks after a crash (journal to replay).</summary>
    public const string StartupCrash100k = "sp-startup-crash/100k";

    /// <summary>This project's save with encryption at rest (AES-256-GCM), Full durability, one writer (goal 9).</summary>
    public const string SaveFullEncrypted1 = "sp-save-full-aes/1w";

    /// <summary>This project's save with encryption at rest, Full durability, eight writers (goal 9a).</summary>
    public const string SaveFullEncrypted8 = "sp-save-full-aes/8w";

    /// <summary>This project's startup of an encrypted directory of 100k tasks after a clean shutdown (goal 9c).</summary>
    public const string StartupCleanEncrypted100k = "sp-startup-clean-aes/100k";

    /// <summary>Raw Npgsql, one transaction per save (the PostgreSQL floor), eight writers.</summary>
    public const string Npgsql8 = "pg-npgsql/8w";

    /// <summary>Raw Npgsql, 64 writers.</summary>
    public const string Npgsql64 = "pg-npgsql/64w";

    /// <summary>Marten with optimistic concurrency, eight writers.</summary>
    public const string Marten8 = "pg-marten/8w";

    /// <summary>Marten with optimistic concurrency, 64 writers.</summary>
    public const string Marten64 = "pg-marten/64w";

    /// <summary>This project's save on the PostgreSQL store, eight writers.</summary>
    public const string PostgresSave8 = "sp-pg-save/8w";

    /// <summary>This project's save on the PostgreSQL store, 64 writers.</summary>
    public const string PostgresSave64 = "sp-pg-save/64w";

    /// <summary><c>family/Nw</c>: the name of a save case with <paramref name="writers"/> writers.</summary>
    public static string WithWriters(string family, int writers) => $"{family}/{writers}w";

    /// <summary><c>family/Nk</c>: the name of a case over a state of <paramref name="tasks"/> tasks.</summary>
    public static string WithTasks(string family, int tasks) => $"{family}/{tasks / 1000}k";

    /// <summary>PUT of a task over HTTP to the server process, 1 connection (goal 7b).</summary>
    public const string HttpPut1 = "sp-http-put/1w";

    /// <summary>PUT of a task over HTTP, 8 connections.</summary>
    public const string HttpPut8 = "sp-http-put/8w";

    /// <summary>PUT of a task over HTTP, 64 connections, <see cref="HttpClient"/> in the bench process as the load generator.</summary>
    public const string HttpPut64 = "sp-http-put/64w";

    /// <summary>GET of a task over HTTP, 1 connection.</summary>
    public const string HttpGet1 = "sp-http-get/1w";

    /// <summary>GET of a task over HTTP, 64 connections.</summary>
    public const string HttpGet64 = "sp-http-get/64w";

    /// <summary>PUT of a task over HTTP, 64 connections, wrk as the load generator (goal 7a).</summary>
    public const string HttpPutWrk64 = "wrk-http-put/64w";

    /// <summary>GET of a task over HTTP, 64 connections, wrk as the load generator: the HTTP pipeline alone (goal 7c).</summary>
    public const string HttpGetWrk64 = "wrk-http-get/64w";

    /// <summary>GET /health over one connection: the loopback round trip through the server (goal 7b).</summary>
    public const string HttpRoundTrip1 = "http-roundtrip/1w";
}
