namespace StatePersistence.Hosting;

/// <summary>Names the hosting integration uses.</summary>
public static class StatePersistenceHostingDefaults
{
    /// <summary>The configuration section <see cref="StatePersistenceOptions"/> is bound from.</summary>
    public const string ConfigurationSection = "StatePersistence";

    /// <summary>The configuration section the health check's options are bound from.</summary>
    public const string HealthCheckSection = "StatePersistence:HealthCheck";

    /// <summary>The health check's default registration name.</summary>
    public const string HealthCheckName = "state_persistence";

    /// <summary>The default low-disk-space threshold: 100 MiB, the core's default.</summary>
    public const long DefaultLowDiskSpaceBytes = 100L * 1024 * 1024;
}
