using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StatePersistence.Server.Access;
using StatePersistence.Server.Configuration;
using StatePersistence.Server.Quotas;

namespace StatePersistence.Server.Health;

/// <summary>
/// <c>GET /health</c> (and <c>HEAD</c>): 200 when Healthy or Degraded, 503 when Unhealthy, and 503 with
/// <c>"shutting_down":true</c> from the moment the host begins stopping (<see cref="HealthCache"/>). Open without the API key
/// so supervisors can probe it, and then it answers only <c>{"status":…}</c>; every check's description and data
/// (paths, counts, free space, quotas, the last error) only with the key, or when
/// <see cref="StateServerOptions.HealthDetailsWithoutKey"/> says the network is trusted and the <c>Host</c> is this
/// server's own (<see cref="OwnHostNames"/>).
/// </summary>
internal static class HealthRoutes
{
    public static void MapStateHealth(this IEndpointRouteBuilder routes) =>
        routes.MapMethods("/health", [HttpMethods.Get, HttpMethods.Head], HealthAsync);

    private static async Task HealthAsync(HttpContext context, HealthCache cache, IOptions<StateServerOptions> options, OwnHostNames ownNames)
    {
        HealthReport report = await cache.GetAsync(context.RequestAborted);
        context.Response.StatusCode = report.Status == HealthStatus.Unhealthy
            ? StatusCodes.Status503ServiceUnavailable
            : StatusCodes.Status200OK;
        context.Response.Headers.CacheControl = "no-store";
        // HealthDetailsWithoutKey trusts the network, not every name: under a Host that is not this server's own (with a
        // key AllowedHosts is * by default) a page rebinding its DNS name could read the paths and database through the
        // operator's browser, so such a request gets the status only, as a probe without the setting does.
        bool details = ApiKeyMiddleware.PresentedKey(context)
            || (options.Value.HealthDetailsWithoutKey && ownNames.Contains(context.Request.Host));
        await WriteAsync(context, report, details, cache.ShuttingDown);
    }

    private static async Task WriteAsync(HttpContext context, HealthReport report, bool details, bool shuttingDown)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        if (HttpMethods.IsHead(context.Request.Method))
        {
            return;
        }

        await using var writer = new Utf8JsonWriter(context.Response.Body);
        writer.WriteStartObject();
        writer.WriteString("status", report.Status.ToString());
        if (shuttingDown)
        {
            // Said without the key too: it reveals nothing of the state, and an operator's bare curl should see why.
            writer.WriteBoolean("shutting_down", true);
        }

        if (!details)
        {
            writer.WriteEndObject();
            await writer.FlushAsync(context.RequestAborted);
            return;
        }

        writer.WriteNumber("total_duration_ms", Math.Round(report.TotalDuration.TotalMilliseconds, 3));
        writer.WriteStartObject("checks");
        foreach ((string name, HealthReportEntry entry) in report.Entries)
        {
            writer.WriteStartObject(name);
            writer.WriteString("status", entry.Status.ToString());
            writer.WriteString("description", entry.Description);
            writer.WriteNumber("duration_ms", Math.Round(entry.Duration.TotalMilliseconds, 3));
            if (entry.Exception is { } error)
            {
                writer.WriteString("error", error.Message);
            }

            writer.WriteStartObject("data");
            foreach ((string key, object value) in entry.Data)
            {
                WriteValue(writer, key, value);
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        WriteQuotas(writer, context.RequestServices.GetRequiredService<QuotaGuard>(), context.RequestServices.GetRequiredService<IStatePersistence>());
        writer.WriteEndObject();
        await writer.FlushAsync(context.RequestAborted);
    }

    /// <summary>Each quota's limit and what it measures now, so an operator sees a 507 coming.</summary>
    private static void WriteQuotas(Utf8JsonWriter writer, QuotaGuard quotas, IStatePersistence state)
    {
        QuotaOptions limits = quotas.Limits;
        writer.WriteStartObject("quotas");
        writer.WriteNumber("max_tasks", limits.MaxTasks);
        writer.WriteNumber("max_sessions", limits.MaxSessions);
        writer.WriteNumber("max_reports", limits.MaxReports);
        writer.WriteNumber("max_task_bytes", limits.MaxTaskBytes);
        writer.WriteNumber("max_session_bytes", limits.MaxSessionBytes);
        writer.WriteNumber("max_task_log_entries", limits.MaxTaskLogEntries);
        writer.WriteNumber("max_log_message_bytes", limits.MaxLogMessageBytes);
        writer.WriteNumber("max_session_log_bytes", limits.MaxSessionLogBytes);
        writer.WriteNumber("min_free_disk_bytes", limits.MinFreeDiskBytes);
        try
        {
            writer.WriteNumber("tasks", state.TaskCount);
            writer.WriteNumber("sessions", state.SessionCount);
        }
        catch (InvalidOperationException)
        {
            // Not started: no counts.
        }

        if (quotas.FreeDiskBytes() is { } free)
        {
            writer.WriteNumber("free_disk_bytes", free);
            writer.WriteBoolean("writes_refused", limits.MinFreeDiskBytes > 0 && free < limits.MinFreeDiskBytes);
        }

        writer.WriteEndObject();
    }

    private static void WriteValue(Utf8JsonWriter writer, string key, object? value)
    {
        switch (value)
        {
            case null:
                writer.WriteNull(key);
                break;
            case bool flag:
                writer.WriteBoolean(key, flag);
                break;
            case int or long:
                writer.WriteNumber(key, Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
                break;
            case double number:
                writer.WriteNumber(key, number);
                break;
            default:
                writer.WriteString(key, Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture));
                break;
        }
    }
}
