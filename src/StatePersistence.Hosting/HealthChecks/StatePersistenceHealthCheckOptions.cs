namespace StatePersistence.Hosting.HealthChecks;

/// <summary>Options of <see cref="StatePersistenceHealthCheck"/>, bound from <c>StatePersistence:HealthCheck</c>.</summary>
public sealed class StatePersistenceHealthCheckOptions
{
    /// <summary>Below this many free bytes on the state volume the check reports Degraded. Default 100 MiB.</summary>
    public long LowDiskSpaceBytes { get; set; } = StatePersistenceHostingDefaults.DefaultLowDiskSpaceBytes;
}
