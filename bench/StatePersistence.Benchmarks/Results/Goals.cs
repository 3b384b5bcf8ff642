using System.Globalization;
using static StatePersistence.Benchmarks.Cases.CaseNames;

namespace StatePersistence.Benchmarks.Results;

/// <summary>
/// Computes the goals (issues 5, 11, 13 and 15) as ratios of cases measured in the same run, so the machine's noise cancels.
/// A check whose cases are missing (not written yet, filtered out, quick mode) or failed is reported as pending
/// with the reason; no number is ever guessed.
/// </summary>
public static class Goals
{
    private static readonly GoalDefinition[] Definitions =
    [
        new(1, "1a", "1 writer, Full: saves/s at least SQLite WAL FULL's",
            new(SaveFull1, Metric.OpsPerSec), new(SqliteFull1, Metric.OpsPerSec), 1.0, AtLeast: true),
        new(1, "1b", "1 writer, Full: p50 within 1.3x of one append+fsync",
            new(SaveFull1, Metric.P50Us), new(AppendFsync1, Metric.P50Us), 1.3, AtLeast: false),
        new(2, "2a", "8 writers, Full: at least 2x SQLite WAL FULL (8 writers)",
            new(SaveFull8, Metric.OpsPerSec), new(SqliteFull8, Metric.OpsPerSec), 2.0, AtLeast: true),
        new(2, "2b", "8 writers, Full: at least 2x LiteDB (8 writers)",
            new(SaveFull8, Metric.OpsPerSec), new(LiteDb8, Metric.OpsPerSec), 2.0, AtLeast: true),
        new(2, "2c", "8 writers, Full: at least 0.8x the raw group-commit harness",
            new(SaveFull8, Metric.OpsPerSec), new(GroupCommit8, Metric.OpsPerSec), 0.8, AtLeast: true),
        new(2, "2d", "64 writers, Full: at least 0.8x the raw 64-writer group-commit harness",
            new(SaveFull64, Metric.OpsPerSec), new(GroupCommit64, Metric.OpsPerSec), 0.8, AtLeast: true),
        new(3, "3a", "Relaxed: saves/s at least SQLite WAL NORMAL's",
            new(SaveRelaxed1, Metric.OpsPerSec), new(SqliteNormal1, Metric.OpsPerSec), 1.0, AtLeast: true),
        new(4, "4a", "save p50 with 100k tasks stored within 1.2x of with 1k",
            new(SaveFull1At100k, Metric.P50Us), new(SaveFull1, Metric.P50Us), 1.2, AtLeast: false),
        new(5, "5a", "startup of 100k tasks after a clean shutdown within 1.5x of loading the snapshot alone",
            new(StartupClean100k, Metric.P50Us), new(SnapshotLoad100k, Metric.P50Us), 1.5, AtLeast: false),
        new(5, "5b", "startup of 100k tasks after a crash within 1.5x of loading the snapshot alone",
            new(StartupCrash100k, Metric.P50Us), new(SnapshotLoad100k, Metric.P50Us), 1.5, AtLeast: false),
        new(5, "5c", "startup peak memory relative to loading the snapshot alone (stated; no numeric target)",
            new(StartupClean100k, Metric.PeakMemoryBytes), new(SnapshotLoad100k, Metric.PeakMemoryBytes), null,
            AtLeast: false),
        new(6, "6a", "save p99 during a 100k-task snapshot within 2x of without",
            new(SaveFull1DuringSnapshot, Metric.P99Us), new(SaveFull1, Metric.P99Us), 2.0, AtLeast: false),
        new(6, "6b", "snapshot holds no second copy: its peak heap growth below one snapshot's size",
            new(Snapshot100k, Metric.PeakMemoryBytes), new(Snapshot100k, Metric.BytesPerOp), 1.0, AtLeast: false),
        new(7, "7a", "64 connections over HTTP (wrk): saves/s at least 0.5x the library's 64 writers",
            new(HttpPutWrk64, Metric.OpsPerSec), new(SaveFull64, Metric.OpsPerSec), 0.5, AtLeast: true),
        new(7, "7b", "1 connection over HTTP: save p50 within 2x of the library's 1-writer p50 plus one loopback round trip",
            new(HttpPut1, Metric.P50Us), new(SaveFull1, Metric.P50Us) { PlusCase = HttpRoundTrip1 }, 2.0, AtLeast: false),
        new(7, "7c", "64 connections over HTTP (wrk): GET of a task (the pipeline, no save) relative to the library's 64-writer saves (stated; no numeric target)",
            new(HttpGetWrk64, Metric.OpsPerSec), new(SaveFull64, Metric.OpsPerSec), null, AtLeast: true),
        new(8, "8a", "PostgreSQL store, 8 writers: at least 0.8x raw Npgsql doing the same work",
            new(PostgresSave8, Metric.OpsPerSec), new(Npgsql8, Metric.OpsPerSec), 0.8, AtLeast: true),
        new(8, "8b", "PostgreSQL store, 64 writers: at least 0.8x raw Npgsql doing the same work",
            new(PostgresSave64, Metric.OpsPerSec), new(Npgsql64, Metric.OpsPerSec), 0.8, AtLeast: true),
        new(8, "8c", "PostgreSQL store, 8 writers: at least 2x Marten with optimistic concurrency",
            new(PostgresSave8, Metric.OpsPerSec), new(Marten8, Metric.OpsPerSec), 2.0, AtLeast: true),
        new(8, "8d", "PostgreSQL store, 64 writers: at least 2x Marten with optimistic concurrency",
            new(PostgresSave64, Metric.OpsPerSec), new(Marten64, Metric.OpsPerSec), 2.0, AtLeast: true),
        new(9, "9a", "Encryption at rest, 8 writers, Full: saves/s at least 0.9x the identity codec's",
            new(SaveFullEncrypted8, Metric.OpsPerSec), new(SaveFull8, Metric.OpsPerSec), 0.9, AtLeast: true),
        new(9, "9b", "Encryption at rest, 1 writer, Full: saves/s relative to the identity codec's (stated; no numeric target)",
            new(SaveFullEncrypted1, Metric.OpsPerSec), new(SaveFull1, Metric.OpsPerSec), null, AtLeast: true),
        new(9, "9c", "Encryption at rest: startup of 100k tasks after a clean shutdown within 1.2x of the identity codec's",
            new(StartupCleanEncrypted100k, Metric.P50Us), new(StartupClean100k, Metric.P50Us), 1.2, AtLeast: false),
    ];

    /// <summary>Evaluates every check against <paramref name="cases"/>, in goal order.</summary>
    public static IReadOnlyList<GoalCheck> Evaluate(IReadOnlyList<CaseResult> cases)
    {
        Dictionary<string, CaseResult> byName = cases.ToDictionary(c => c.Name, StringComparer.Ordinal);
        return [.. Definitions.Select(d => Evaluate(d, byName))];
    }

    private static GoalCheck Evaluate(GoalDefinition d, Dictionary<string, CaseResult> byName)
    {
        string? pending = WhyPending(d.Numerator, byName, divisor: false) ?? WhyPending(d.Denominator, byName, divisor: true)
            ?? (d.Denominator.PlusCase is { } added ? WhyPending(d.Denominator with { PlusCase = null, Case = added }, byName, divisor: false) : null);
        double? ratio = null;
        bool? met = null;
        if (pending is null)
        {
            double numerator = d.Numerator.ValueIn(byName[d.Numerator.Case])!.Value;
            double denominator = d.Denominator.ValueIn(byName[d.Denominator.Case])!.Value
                + (d.Denominator.PlusCase is { } plus ? d.Denominator.ValueIn(byName[plus])!.Value : 0);
            ratio = Math.Round(numerator / denominator, 3);
            met = d.Target is { } target ? (d.AtLeast ? ratio >= target : ratio <= target) : null;
        }

        return new GoalCheck
        {
            Goal = d.Goal,
            Check = d.Check,
            Description = d.Description,
            Numerator = d.Numerator.ToString(),
            Denominator = d.Denominator.ToString(),
            Ratio = ratio,
            Target = d.Target,
            Comparison = d.AtLeast ? "at_least" : "at_most",
            Met = met,
            Pending = pending,
        };
    }

    private static string? WhyPending(Operand operand, Dictionary<string, CaseResult> byName, bool divisor)
    {
        if (!byName.TryGetValue(operand.Case, out CaseResult? result))
        {
            return $"needs case {operand.Case}";
        }

        if (result.Error is not null)
        {
            return $"case {operand.Case} failed";
        }

        return operand.ValueIn(result) switch
        {
            null => $"case {operand.Case} reports no {operand.JsonName}",
            0 when divisor => string.Create(CultureInfo.InvariantCulture, $"case {operand.Case} reports {operand.JsonName} = 0"),
            _ => null,
        };
    }
}
