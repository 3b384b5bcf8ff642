using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StatePersistence;
using StatePersistence.Hosting;
using StatePersistence.Hosting.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the StatePersistence health check to an <see cref="IHealthChecksBuilder"/>.</summary>
public static class StatePersistenceHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds <see cref="StatePersistenceHealthCheck"/> under <paramref name="name"/>. Its options are bound from
    /// <c>StatePersistence:HealthCheck</c> (for example <c>LowDiskSpaceBytes</c>) and then changed by
    /// <paramref name="configure"/>. Needs <see cref="StatePersistenceServiceCollectionExtensions.AddStatePersistence"/>.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="configure">Changes the options, for example the low-disk-space threshold.</param>
    /// <param name="name">The check's name; default <c>state_persistence</c>.</param>
    /// <param name="failureStatus">What an unhealthy state is reported as; default <see cref="HealthStatus.Unhealthy"/>.</param>
    /// <param name="tags">Tags to filter checks by.</param>
    public static IHealthChecksBuilder AddStatePersistence(this IHealthChecksBuilder builder,
        Action<StatePersistenceHealthCheckOptions>? configure = null, string name = StatePersistenceHostingDefaults.HealthCheckName,
        HealthStatus? failureStatus = null, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);
        builder.Services.AddOptions<StatePersistenceHealthCheckOptions>(name)
            .Configure<IServiceProvider>(static (options, services) =>
                services.GetService<IConfiguration>()?.GetSection(StatePersistenceHostingDefaults.HealthCheckSection).Bind(options))
            .Validate(static o => o.LowDiskSpaceBytes >= 0,
                $"{StatePersistenceHostingDefaults.HealthCheckSection}:LowDiskSpaceBytes must not be negative.")
            .ValidateOnStart();
        if (configure is not null)
        {
            builder.Services.Configure(name, configure);
        }

        return builder.Add(new HealthCheckRegistration(name,
            services => new StatePersistenceHealthCheck(services.GetRequiredService<IStatePersistence>(),
                services.GetRequiredService<IOptionsMonitor<StatePersistenceHealthCheckOptions>>().Get(name)),
            failureStatus, tags));
    }
}
