namespace StatePersistence.Server.Metrics;

/// <summary><c>GET /metrics</c>: the <c>StatePersistence</c> meter in the Prometheus text format.</summary>
internal static class MetricsRoutes
{
    public const string Path = "/metrics";

    /// <summary>
    /// OpenTelemetry's Prometheus exporter serves the route; mapping it as an endpoint (not as middleware at the front)
    /// keeps it behind the same Host, Origin and API key checks as every other route.
    /// </summary>
    public static void MapPrometheusMetrics(this IEndpointRouteBuilder routes) =>
        routes.MapPrometheusScrapingEndpoint(Path).WithMetadata(new HttpMethodMetadata(["GET", "HEAD"]));
}
