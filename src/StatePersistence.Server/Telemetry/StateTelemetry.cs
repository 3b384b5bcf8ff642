using System.Diagnostics.Metrics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using StatePersistence.Diagnostics;
using StatePersistence.Server.Metrics;

namespace StatePersistence.Server.Telemetry;

/// <summary>
/// OpenTelemetry for the server: the <c>StatePersistence</c> meter exported on <c>/metrics</c> in the Prometheus
/// format, and, only when an OTLP endpoint is configured, traces of HTTP requests and of the library's saves,
/// checkpoints and recovery plus the metrics and logs, sent over OTLP. Nothing leaves the process by default.
/// </summary>
internal static class StateTelemetry
{
    /// <summary>The standard OpenTelemetry variable; as a configuration key it can also be set in appsettings.json.</summary>
    public const string OtlpEndpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>The <c>service.name</c> of the traces and metrics.</summary>
    public const string ServiceName = "statepersistence-server";

    public static void AddStateTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        bool otlp = !string.IsNullOrWhiteSpace(configuration[OtlpEndpointKey]);
        IOpenTelemetryBuilder telemetry = services.AddOpenTelemetry()
            .ConfigureResource(static resource => resource.AddService(ServiceName))
            .WithMetrics(static metrics =>
            {
                metrics.AddMeter(StateMeter.Name).AddPrometheusExporter(static prometheus =>
                {
                    // A scrape reads the current values: a cached answer would hide the save just made.
                    prometheus.ScrapeResponseCacheDurationMilliseconds = 0;
                    prometheus.ScrapeEndpointPath = MetricsRoutes.Path;
                    // The series keep the names and labels the hand-written exporter gave them (dashboards and alerts
                    // depend on them): no otel_scope_name label on every sample. target_info stays: it is one series.
                    prometheus.ScopeInfoEnabled = false;
                });
                ((IDeferredMeterProviderBuilder)metrics).Configure(static (provider, builder) =>
                {
                    IMeterFactory factory = provider.GetRequiredService<IMeterFactory>();
                    builder.AddView(instrument => View(instrument, factory));
                });
            });
        if (otlp)
        {
            // Tracing only when something receives it: request spans would otherwise cost every request for nothing.
            telemetry.WithTracing(static tracing => tracing
                .AddSource(StateActivities.SourceName)
                .AddAspNetCoreInstrumentation());
            telemetry.UseOtlpExporter();
        }
    }

    /// <summary>
    /// Drops the instruments of meters this host did not create: tests host several servers in one process, each
    /// with its own meter of the same name, and OpenTelemetry subscribes to meters by name alone. Buckets are not
    /// chosen here: the library's histograms carry their own as advice, which any OpenTelemetry user gets.
    /// </summary>
    private static MetricStreamConfiguration? View(Instrument instrument, IMeterFactory factory) =>
        instrument.Meter.Name == StateMeter.Name && !ReferenceEquals(instrument.Meter.Scope, factory) ? MetricStreamConfiguration.Drop : null;
}
