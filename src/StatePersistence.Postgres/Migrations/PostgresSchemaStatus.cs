namespace StatePersistence.Postgres;

/// <summary>Where a PostgreSQL store's schema stands against this build (<see cref="PostgresSchemaMigrations"/>).</summary>
/// <param name="Location">The store, as a URL without credentials (<c>postgresql://host:port/db#schema</c>).</param>
/// <param name="Schema">The schema's name.</param>
/// <param name="SchemaVersion">The version its <c>schema_version</c> table records; null when it holds no store.</param>
/// <param name="BuildVersion">The version this build reads and writes.</param>
/// <param name="Applied">The versions applied, oldest first, with their times.</param>
/// <param name="Pending">
/// The steps this build would apply (an instance's start, or <see cref="PostgresSchemaMigrations.ApplyAsync"/>), in order;
/// empty when the schema is current, or newer than this build.
/// </param>
/// <param name="UpgradingProcessId">
/// The PostgreSQL backend holding the schema's upgrade lock: a creation or an upgrade is running now (its session shows
/// in <c>pg_stat_activity</c> under that pid). Null when none is.
/// </param>
public sealed record PostgresSchemaStatus(string Location, string Schema, int? SchemaVersion, int BuildVersion,
    IReadOnlyList<PostgresSchemaVersion> Applied, IReadOnlyList<PostgresSchemaVersion> Pending, int? UpgradingProcessId)
{
    /// <summary>Whether the schema holds a store (a version table).</summary>
    public bool HoldsStore => SchemaVersion is not null;

    /// <summary>Whether a newer build wrote the schema: this build refuses to open it, and leaves it untouched.</summary>
    public bool IsNewerThanBuild => SchemaVersion > BuildVersion;

    /// <summary>What <see cref="PostgresSchemaMigrations.ApplyAsync"/> did, in a sentence; null for a status.</summary>
    public string? Outcome { get; init; }
}
