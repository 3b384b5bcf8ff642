namespace StatePersistence.Server.Metrics;

/// <summary><c>GET /metrics</c>: the <c>StatePersistence</c> meter in the Prometheus text format.</summary>
internal static class MetricsRoutes
{
    public static void MapPrometheusMetrics(this IEndpointRouteBuilder routes) =>
        routes.MapGet("/metrics", (PrometheusMetrics metrics) => Results.Text(metrics.Scrape(), PrometheusText.ContentType));
}
