namespace StatePersistence.Benchmarks.Harness;

/// <summary>Which family a case belongs to; the folder under <c>Cases/</c> matches.</summary>
public enum CaseGroup
{
    /// <summary>Other ways to persist the same data (SQLite, LiteDB, naive files).</summary>
    Peers,

    /// <summary>What the disk and the runtime allow at best (one fsync, append+fsync, group commit, one snapshot).</summary>
    Floors,

    /// <summary>This project's own saves and startups.</summary>
    StatePersistence,
}
