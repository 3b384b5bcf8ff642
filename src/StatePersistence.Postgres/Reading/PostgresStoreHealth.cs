namespace StatePersistence.Postgres;

/// <summary>
/// A PostgreSQL store's health as an operator sees it from outside every instance (<see cref="PostgresHealth"/>):
/// the database, the schema, the figures an instance's health check reports, and who is connected.
/// </summary>
/// <param name="Location">The store, as a URL without credentials (<c>postgresql://host:port/db#schema</c>).</param>
/// <param name="Status">Unhealthy when the store cannot be used (unreachable, no store, a read-only standby); Degraded when it can, with a reason.</param>
/// <param name="Reasons">Why it is not Healthy, one sentence each, naming what to do.</param>
public sealed record PostgresStoreHealth(string Location, StateHealthStatus Status, IReadOnlyList<string> Reasons)
{
    /// <summary>Whether the database answered.</summary>
    public bool Reachable { get; init; }

    /// <summary>Whether the database is a read-only standby (in recovery): no instance can write to it.</summary>
    public bool Standby { get; init; }

    /// <summary>The schema's version; null when it holds no store (or the database was not reached).</summary>
    public int? SchemaVersion { get; init; }

    /// <summary>The version this build reads and writes.</summary>
    public int BuildVersion { get; init; }

    /// <summary>The backend creating or upgrading the schema now, if one is.</summary>
    public int? UpgradingProcessId { get; init; }

    /// <summary>Tasks, as an instance's health check counts them.</summary>
    public long? Tasks { get; init; }

    /// <summary>Sessions.</summary>
    public long? Sessions { get; init; }

    /// <summary>Rows of the change log (kept for the change retention).</summary>
    public long? Changes { get; init; }

    /// <summary>Changes committed and not yet given their place in the feed: an instance numbers them within moments, so a number that stays means none runs.</summary>
    public long? UnnumberedChanges { get; init; }

    /// <summary>Sessions with a log.</summary>
    public long? SessionLogs { get; init; }

    /// <summary>Reports.</summary>
    public long? Reports { get; init; }

    /// <summary>The database's size on disk.</summary>
    public long? DatabaseBytes { get; init; }

    /// <summary>Client connections to the whole cluster, which <see cref="MaxConnections"/> bounds.</summary>
    public int? Connections { get; init; }

    /// <summary>The cluster's <c>max_connections</c>.</summary>
    public int? MaxConnections { get; init; }

    /// <summary>The clients connected to this database (instances, tools), this check's own session left out.</summary>
    public IReadOnlyList<PostgresClient> Clients { get; init; } = [];

    /// <summary>When the last retention pass was claimed, by any instance; null when none ever was.</summary>
    public DateTimeOffset? LastRetentionPass { get; init; }
}

/// <summary>Connections of one client to the store's database, as <c>pg_stat_activity</c> shows them.</summary>
/// <param name="ApplicationName">Its <c>application_name</c> (Npgsql's <c>Application Name</c>; empty when it set none).</param>
/// <param name="ClientAddress">Its address; null for a Unix socket; <see cref="HiddenAddress"/> for another role's
/// sessions when this role may not see their details (it lacks <c>pg_read_all_stats</c>).</param>
/// <param name="Connections">How many connections it holds.</param>
public sealed record PostgresClient(string ApplicationName, string? ClientAddress, int Connections)
{
    /// <summary>The <see cref="ClientAddress"/> of sessions whose address this role may not see.</summary>
    public const string HiddenAddress = "hidden from this role";
}
