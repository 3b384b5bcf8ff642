namespace StatePersistence.Server.Quotas;

/// <summary>
/// What one client can make the server hold, bound from <c>StatePersistence:Server:Quotas</c>. A write that would
/// pass a limit is refused whole (nothing of it is stored): 413 for the size of one thing, 507 for how many things
/// or how little disk is left. 0 turns a limit off.
/// </summary>
internal sealed class QuotaOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "StatePersistence:Server:Quotas";

    /// <summary>The largest task, as its JSON (logs included), in bytes. Default 1 MiB.</summary>
    public long MaxTaskBytes { get; set; } = 1L << 20;

    /// <summary>The largest session, as its JSON. Default 64 KiB.</summary>
    public long MaxSessionBytes { get; set; } = 64L << 10;

    /// <summary>The most log entries one task holds. Default 5,000.</summary>
    public int MaxTaskLogEntries { get; set; } = 5_000;

    /// <summary>The longest task log message, in UTF-8 bytes. Default 16 KiB.</summary>
    public long MaxLogMessageBytes { get; set; } = 16L << 10;

    /// <summary>The largest session log file; an append that would pass it is refused (413). Default 64 MiB.</summary>
    public long MaxSessionLogBytes { get; set; } = 64L << 20;

    /// <summary>The most tasks. Default 100,000.</summary>
    public long MaxTasks { get; set; } = 100_000;

    /// <summary>The most sessions. Default 100,000.</summary>
    public long MaxSessions { get; set; } = 100_000;

    /// <summary>The most reports. Default 100,000.</summary>
    public long MaxReports { get; set; } = 100_000;

    /// <summary>
    /// Below this much free space on the state volume every write is refused (507) before the disk fills, so the
    /// journal, snapshots and recovery keep room to work. Default 64 MiB. It must be below the health check's Degraded
    /// threshold (LowDiskSpaceBytes, 100 MiB by default), so that /health warns before it: the start checks that.
    /// </summary>
    public long MinFreeDiskBytes { get; set; } = 64L << 20;

    /// <summary>The problems with these values, each naming its setting.</summary>
    public IEnumerable<string> Validate()
    {
        foreach ((string name, long value) in new (string, long)[]
                 {
                     (nameof(MaxTaskBytes), MaxTaskBytes), (nameof(MaxSessionBytes), MaxSessionBytes), (nameof(MaxTaskLogEntries), MaxTaskLogEntries),
                     (nameof(MaxLogMessageBytes), MaxLogMessageBytes), (nameof(MaxSessionLogBytes), MaxSessionLogBytes), (nameof(MaxTasks), MaxTasks),
                     (nameof(MaxSessions), MaxSessions), (nameof(MaxReports), MaxReports), (nameof(MinFreeDiskBytes), MinFreeDiskBytes),
                 })
        {
            if (value < 0)
            {
                yield return $"{Section}:{name} must be 0 (no limit) or more (was {value}).";
            }
        }
    }
}
