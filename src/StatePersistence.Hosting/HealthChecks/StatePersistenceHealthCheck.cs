using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StatePersistence.Model;

namespace StatePersistence.Hosting.HealthChecks;

/// <summary>
/// Reports <see cref="IStatePersistence.CheckHealth"/> as a health check: Healthy and Degraded as they are,
/// Unhealthy (a shut-down service's too) as the registration's failure status. The data carries the seed's health
/// fields in snake_case (<c>state_dir_exists</c>, <c>writable</c>, <c>disk_space</c>, <c>last_save_time</c>,
/// <c>backup_count</c>, ...) plus the last error and whether corruption was found.
/// </summary>
internal sealed class StatePersistenceHealthCheck(IStatePersistence persistence, StatePersistenceHealthCheckOptions options) : IHealthCheck
{
    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        StateHealth health;
        try
        {
            health = persistence.CheckHealth(options.LowDiskSpaceBytes);
        }
        catch (InvalidOperationException ex)
        {
            // Another implementation of IStatePersistence, not started or (an ObjectDisposedException) shut down: nothing
            // can be saved now. The library's service answers Unhealthy itself, with the reason and its health data,
            // before its start and once its disposal has begun.
            return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus,
                "State persistence is not running: " + ex.Message, ex));
        }

        HealthStatus status = health.Status switch
        {
            StateHealthStatus.Healthy => HealthStatus.Healthy,
            StateHealthStatus.Degraded => HealthStatus.Degraded,
            _ => context.Registration.FailureStatus,
        };
        string description = health.Reasons.Count == 0 ? "State persistence is healthy." : string.Join(" ", health.Reasons);
        return Task.FromResult(new HealthCheckResult(status, description, data: Data(health, options.LowDiskSpaceBytes)));
    }

    /// <summary>The health as the check's data; absent values are left out rather than reported as null.</summary>
    internal static Dictionary<string, object> Data(StateHealth health, long lowDiskSpaceBytes)
    {
        var data = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["status"] = health.Status.ToString(),
            ["state_path"] = health.StatePath,
        };

        // The directory's fields only where there is a directory: on PostgreSQL "state_dir_exists": true and
        // "backup_count": 0 read as a missing backup an operator would go looking for, and no free space is measured
        // against the threshold.
        if (health.IsStateDirectory)
        {
            data["state_dir_exists"] = health.StateDirExists;
        }

        data["writable"] = health.Writable;
        if (health.IsStateDirectory)
        {
            data["low_disk_space_bytes"] = lowDiskSpaceBytes;
            data["backup_count"] = health.BackupCount;
        }

        data["corruption_detected"] = health.CorruptionDetected;
        data["revision"] = health.Revision;
        data["task_count"] = health.TaskCount;
        data["session_count"] = health.SessionCount;

        if (health.DiskSpace is { } free)
        {
            data["disk_space"] = free;
        }

        if (health.LastSaveTime is { } saved)
        {
            data["last_save_time"] = Timestamp(saved);
        }

        if (health.LastSaveAge is { } age)
        {
            data["last_save_age_seconds"] = Math.Round(age.TotalSeconds, 3);
        }

        if (health.LastError is { } error)
        {
            data["last_error"] = error;
        }

        if (health.LastErrorTime is { } errorTime)
        {
            data["last_error_time"] = Timestamp(errorTime);
        }

        // The store's own figures under the store's own names (the file store: files_<kind> and bytes_<kind>); a
        // store cannot replace one of the fields above by naming a figure after it.
        foreach ((string name, long value) in health.StoreDetails)
        {
            data.TryAdd(name, value);
        }

        return data;
    }

    private static string Timestamp(DateTimeOffset time) =>
        time.UtcDateTime.ToString(StateFormat.TimestampFormat, CultureInfo.InvariantCulture);
}
