using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace StatePersistence.Server.Health;

/// <summary>
/// <c>GET /health</c>: 200 when Healthy or Degraded, 503 when Unhealthy, with every check's status, description
/// and data as JSON. Open without the API key so supervisors can probe it; it shows paths and counts, never content.
/// </summary>
internal static class HealthRoutes
{
    public static void MapStateHealth(this IEndpointRouteBuilder routes) =>
        routes.MapHealthChecks("/health", new HealthCheckOptions { ResponseWriter = WriteAsync });

    private static async Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        await using var writer = new Utf8JsonWriter(context.Response.Body);
        writer.WriteStartObject();
        writer.WriteString("status", report.Status.ToString());
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
        writer.WriteEndObject();
        await writer.FlushAsync(context.RequestAborted);
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
