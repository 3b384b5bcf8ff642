using StatePersistence.Benchmarks.Cases;
using StatePersistence.Benchmarks.Results;

namespace StatePersistence.Benchmarks.Tests;

public class GoalsTests
{
    [Fact]
    public void Evaluate_WithoutProjectCases_ReportsEveryCheckPendingWithTheMissingCase()
    {
        IReadOnlyList<GoalCheck> checks = Goals.Evaluate([Case(CaseNames.SqliteFull1, ops: 7000, p50: 130)]);

        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8, 9], checks.Select(c => c.Goal).Distinct());
        Assert.All(checks, c => Assert.Null(c.Ratio));
        Assert.All(checks, c => Assert.Null(c.Met));
        Assert.Equal($"needs case {CaseNames.SaveFull1}", checks.Single(c => c.Check == "1a").Pending);
    }

    [Fact]
    public void Evaluate_CheckWithAnAddedCase_DividesByTheSum_AndWaitsForBothCases()
    {
        CaseResult put = Case(CaseNames.HttpPut1, ops: 3000, p50: 500);
        CaseResult library = Case(CaseNames.SaveFull1, ops: 8000, p50: 100);

        GoalCheck pending = Goals.Evaluate([put, library]).Single(c => c.Check == "7b");
        GoalCheck measured = Goals.Evaluate([put, library, Case(CaseNames.HttpRoundTrip1, ops: 9000, p50: 150)]).Single(c => c.Check == "7b");

        Assert.Equal($"needs case {CaseNames.HttpRoundTrip1}", pending.Pending);
        Assert.Equal(2.0, measured.Ratio);
        Assert.True(measured.Met);
        Assert.Contains(CaseNames.HttpRoundTrip1, measured.Denominator, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_AtLeastCheck_ComparesThroughputRatioWithTarget()
    {
        IReadOnlyList<GoalCheck> checks = Goals.Evaluate(
        [
            Case(CaseNames.SaveFull1, ops: 8000, p50: 100),
            Case(CaseNames.SqliteFull1, ops: 7000, p50: 130),
            Case(CaseNames.AppendFsync1, ops: 9000, p50: 90),
        ]);

        GoalCheck throughput = checks.Single(c => c.Check == "1a");
        Assert.Equal(1.143, throughput.Ratio);
        Assert.True(throughput.Met);
        GoalCheck latency = checks.Single(c => c.Check == "1b");
        Assert.Equal(1.111, latency.Ratio);
        Assert.True(latency.Met);
    }

    [Fact]
    public void Evaluate_AtMostCheck_AboveTarget_IsNotMet()
    {
        IReadOnlyList<GoalCheck> checks = Goals.Evaluate(
        [
            Case(CaseNames.SaveFull1, ops: 5000, p50: 200),
            Case(CaseNames.AppendFsync1, ops: 9000, p50: 100),
        ]);

        GoalCheck latency = checks.Single(c => c.Check == "1b");
        Assert.Equal(2.0, latency.Ratio);
        Assert.False(latency.Met);
    }

    [Fact]
    public void Evaluate_FailedCase_IsPendingNotComputed()
    {
        var failed = new CaseResult { Name = CaseNames.SqliteFull1, Group = "Peers", Error = "IOException: disk full" };

        GoalCheck check = Goals.Evaluate([Case(CaseNames.SaveFull1, ops: 8000, p50: 100), failed])
            .Single(c => c.Check == "1a");

        Assert.Null(check.Ratio);
        Assert.Equal($"case {CaseNames.SqliteFull1} failed", check.Pending);
    }

    [Fact]
    public void Evaluate_CheckWithoutTarget_ReportsRatioButNoVerdict()
    {
        GoalCheck check = Goals.Evaluate(
        [
            new CaseResult { Name = CaseNames.StartupClean100k, Group = "StatePersistence", OpsPerSec = 1, P50Us = 1, PeakMemoryBytes = 300 },
            new CaseResult { Name = CaseNames.SnapshotLoad100k, Group = "Floors", OpsPerSec = 1, P50Us = 1, PeakMemoryBytes = 200 },
        ]).Single(c => c.Check == "5c");

        Assert.Equal(1.5, check.Ratio);
        Assert.Null(check.Target);
        Assert.Null(check.Met);
        Assert.Null(check.Pending);
    }

    [Fact]
    public void Evaluate_PeerAndFloorOperands_AreCasesTheFullCatalogRuns()
    {
        HashSet<string> catalog = [.. CaseCatalog.Create(quick: false).Select(c => c.Info.Name)];
        string[] operands = [.. Goals.Evaluate([])
            .SelectMany(c => new[] { c.Numerator, c.Denominator })
            .Select(o => o.Split(' ')[0])
            .Where(name => !name.StartsWith("sp-", StringComparison.Ordinal))
            .Distinct()];

        Assert.NotEmpty(operands);
        Assert.All(operands, name => Assert.Contains(name, catalog));
    }

    [Fact]
    public void Evaluate_EncryptionGoals_CompareTheAesCasesWithTheSameRunsIdentityCodecCases_WhichTheFullCatalogRuns()
    {
        IReadOnlyList<GoalCheck> checks = Goals.Evaluate(
        [
            Case(CaseNames.SaveFull8, ops: 2000, p50: 300),
            Case(CaseNames.SaveFullEncrypted8, ops: 1700, p50: 330),
            Case(CaseNames.StartupClean100k, ops: 1, p50: 1_000_000),
            Case(CaseNames.StartupCleanEncrypted100k, ops: 1, p50: 1_100_000),
        ]);

        GoalCheck writers = checks.Single(c => c.Check == "9a");
        Assert.Equal(0.85, writers.Ratio);
        Assert.False(writers.Met);
        GoalCheck startup = checks.Single(c => c.Check == "9c");
        Assert.Equal(1.1, startup.Ratio);
        Assert.True(startup.Met);
        Assert.Contains("needs case", checks.Single(c => c.Check == "9b").Pending, StringComparison.Ordinal);
        HashSet<string> catalog = [.. CaseCatalog.Create(quick: false).Select(c => c.Info.Name)];
        Assert.All(checks.Where(c => c.Goal == 9).SelectMany(c => new[] { c.Numerator, c.Denominator }).Select(o => o.Split(' ')[0]),
            name => Assert.Contains(name, catalog));
    }

    private static CaseResult Case(string name, double ops, double p50) =>
        new() { Name = name, Group = "Test", OpsPerSec = ops, P50Us = p50, P99Us = p50 * 3, Writers = 1 };
}
