using System.Diagnostics;
using StatePersistence.Benchmarks.Cases;
using StatePersistence.Benchmarks.Harness;
using StatePersistence.Benchmarks.Results;
using StatePersistence.Benchmarks.Workload;

BenchOptions? options = BenchOptions.Parse(args);
if (options is null)
{
    return 2;
}

IBenchCase[] selected = [.. CaseCatalog.Create(options.Quick).Where(c => options.Selects(c.Info.Name))];
if (options.List)
{
    foreach (IBenchCase c in selected)
    {
        Console.WriteLine($"{c.Info.Name,-34} {c.Info.Group,-16} writers={c.Info.Writers}");
    }

    return 0;
}

if (selected.Length == 0)
{
    Console.Error.WriteLine("No case matches the filter; --list shows the names.");
    return 2;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

Directory.CreateDirectory(options.Root);
MachineInfo machine = MachineInfo.Describe(options.Root, TimeProvider.System);
TaskDocuments documents = TaskDocuments.Create();
Console.WriteLine($"{(options.Quick ? "quick" : "full")} run: {selected.Length} cases, {documents.DocumentBytes} B task JSON, "
    + $"temp root {options.Root} on {machine.FileSystem ?? "?"}, load average {machine.LoadAverageAtStart} on {machine.Cores} cores");

var runner = new BenchRunner(options, documents, Console.Out);
var clock = Stopwatch.StartNew();
IReadOnlyList<CaseResult> results;
try
{
    results = await runner.RunAsync(selected, cancel.Token);
}
catch (OperationCanceledException) when (cancel.IsCancellationRequested)
{
    Console.Error.WriteLine("Cancelled; no results written.");
    TryDeleteIfEmpty(options.Root);
    return 130;
}

TryDeleteIfEmpty(options.Root);
machine.LoadAverageAtEnd = MachineInfo.LoadAverage();
var report = new BenchReport
{
    Mode = options.Quick ? "quick" : "full",
    Rounds = options.Rounds,
    Filters = options.Filters,
    Machine = machine,
    Cases = results,
    Goals = Goals.Evaluate(results),
};

Directory.CreateDirectory(Path.GetDirectoryName(options.OutputPath)!);
await File.WriteAllTextAsync(options.OutputPath, ReportJsonContext.ToJson(report) + Environment.NewLine);
ResultTable.Print(Console.Out, report);
Console.WriteLine();
Console.WriteLine($"Wrote {options.OutputPath} in {clock.Elapsed.TotalSeconds:N0} s.");
return results.Any(r => r.Error is not null) ? 1 : 0;

static void TryDeleteIfEmpty(string directory)
{
    if (Directory.Exists(directory) && !Directory.EnumerateFileSystemEntries(directory).Any())
    {
        Directory.Delete(directory);
    }
}
