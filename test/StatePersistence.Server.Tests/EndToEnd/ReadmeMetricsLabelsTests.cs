using System.Text.RegularExpressions;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Server.Tests.EndToEnd;

/// <summary>
/// The README's promise about what <c>/metrics</c> labels name (read by an operator deciding on <c>MetricsWithoutKey</c>)
/// agrees with its metrics table: the table documents <c>key_id</c> labels, so the promise must not say "never … a key
/// id", as it did before 2026-12-08.
/// </summary>
public sealed partial class ReadmeMetricsLabelsTests
{
    [Fact]
    public void TheOpenWithoutTheKeyPromise_DoesNotDenyTheKeyIdLabelsTheMetricsTableDocuments()
    {
        string readme = File.ReadAllText(RepositoryFiles.Find("README.md"));
        Assert.Contains("| `key_id` = ", readme, StringComparison.Ordinal);

        string promise = Promise().Match(readme).Value;
        Assert.NotEmpty(promise);
        Assert.DoesNotMatch(@"never[^.]*\ba key id\b", promise);
        Assert.Contains("`key_id`", promise, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"`/metrics` only with `MetricsWithoutKey`[^.]*\.", RegexOptions.Singleline)]
    private static partial Regex Promise();
}
