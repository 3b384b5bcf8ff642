using System.Globalization;
using StatePersistence.Benchmarks.Cases;

namespace StatePersistence.Benchmarks.Results;

/// <summary>
/// Prints a run for people: one line per case with its ratios to SQLite WAL FULL (throughput) and to one fsync
/// (median latency), then the goal checks.
/// </summary>
internal static class ResultTable
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void Print(TextWriter output, BenchReport report)
    {
        CaseResult? sqlite = report.Cases.FirstOrDefault(c => c.Name == CaseNames.SqliteFull1 && c.Error is null);
        CaseResult? fsync = report.Cases.FirstOrDefault(c => c.Name == CaseNames.FsyncInPlace && c.Error is null);
        output.WriteLine();
        output.WriteLine($"{"case",-34} {"dur",-6} {"ops/s",10} {"p50 µs",10} {"p99 µs",10} {"x sqlite",9} {"p50/fsync",9}  notes");
        output.WriteLine(new string('-', 110));
        foreach (CaseResult c in report.Cases)
        {
            output.WriteLine(string.Create(Inv,
                $"{c.Name,-34} {c.Durability ?? "-",-6} {Num(c.OpsPerSec, "N0"),10} {Num(c.P50Us, "N1"),10} {Num(c.P99Us, "N1"),10} "
                + $"{Ratio(c.OpsPerSec, sqlite?.OpsPerSec),9} {Ratio(c.P50Us, fsync?.P50Us),9}  {Notes(c)}"));
        }

        output.WriteLine();
        output.WriteLine($"x sqlite = ops/s / {CaseNames.SqliteFull1} ops/s; p50/fsync = p50 / {CaseNames.FsyncInPlace} p50.");
        output.WriteLine();
        output.WriteLine($"{"goal",-5} {"ratio",8} {"target",10}  {"met",-5} check");
        foreach (GoalCheck g in report.Goals)
        {
            string target = g.Target is { } t ? (g.Comparison == "at_least" ? ">= " : "<= ") + t.ToString("0.0#", Inv) : "-";
            string met = g.Pending is not null ? "-" : g.Met is { } m ? (m ? "yes" : "NO") : "n/a";
            string detail = g.Pending is null ? g.Description : $"{g.Description} [pending: {g.Pending}]";
            output.WriteLine($"{g.Check,-5} {Num(g.Ratio, "0.00"),8} {target,10}  {met,-5} {detail}");
        }
    }

    private static string Notes(CaseResult c)
    {
        var notes = new List<string>();
        if (c.Error is not null)
        {
            notes.Add("FAILED: " + c.Error);
        }

        if (c.BytesPerOp is { } bytes)
        {
            notes.Add(string.Create(Inv, $"{bytes / 1048576.0:N1} MiB/op"));
        }

        if (c.CpuUsPerOp is { } cpu)
        {
            notes.Add(string.Create(Inv, $"{cpu:N1} µs CPU/op"));
        }

        if (c.PeakMemoryBytes is { } peak)
        {
            notes.Add(string.Create(Inv, $"peak heap +{peak / 1048576.0:N1} MiB"));
        }

        if (c.Note is not null)
        {
            notes.Add(c.Note);
        }

        return string.Join("; ", notes);
    }

    private static string Num(double? value, string format) => value?.ToString(format, Inv) ?? "-";

    private static string Ratio(double? value, double? reference) =>
        value is { } v && reference is > 0 ? (v / reference.Value).ToString("0.00", Inv) : "-";
}
