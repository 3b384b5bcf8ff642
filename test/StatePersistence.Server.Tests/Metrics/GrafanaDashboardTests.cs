using System.Text.Json;
using System.Text.RegularExpressions;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Server.Tests.Metrics;

public sealed partial class GrafanaDashboardTests
{
    [Fact]
    public void Dashboard_QueriesOnlyMetricsTheReadmeDocuments()
    {
        using JsonDocument dashboard = JsonDocument.Parse(File.ReadAllText(RepositoryFiles.Find("docs/grafana/statepersistence.json")));
        string readme = File.ReadAllText(RepositoryFiles.Find("README.md"));
        string[] expressions = [.. dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray()).Select(t => t.GetProperty("expr").GetString()!)];

        string[] metrics = [.. expressions.SelectMany(e => MetricName().Matches(e).Select(m => m.Groups[1].Value)).Distinct()];

        Assert.True(expressions.Length >= 10, $"only {expressions.Length} queries");
        Assert.NotEmpty(metrics);
        Assert.All(metrics, name => Assert.Contains($"| `{name}` |", readme, StringComparison.Ordinal));
    }

    // A histogram's series end in _bucket, _sum or _count; the README names the histogram.
    [GeneratedRegex("(statepersistence_[a-z_]+?)(?:_bucket|_sum|_count)?\\b")]
    private static partial Regex MetricName();
}
