namespace StatePersistence.Benchmarks.Harness;

/// <summary>The command line: <c>[--quick] [--filter TEXT]... [--out PATH] [--root DIR] [--rounds N] [--list]</c>.</summary>
internal sealed class BenchOptions
{
    public const string Usage = """
        Usage: dotnet run -c Release --project bench/StatePersistence.Benchmarks -- [options]
          --quick          short run (under 2 minutes): smaller budgets, snapshots of 1k and 10k tasks only
          --filter TEXT    run only cases whose name contains TEXT (repeatable: any match runs)
          --out PATH       results file (default: bench/results/latest.json in the repository)
          --root DIR       where each case's temporary directory is made (default: the system temp dir)
          --rounds N       measure every case in N interleaved rounds (default: 3 quick, 5 full)
          --list           print the case names and exit
        """;

    public bool Quick { get; private init; }

    public bool List { get; private init; }

    public IReadOnlyList<string> Filters { get; private init; } = [];

    /// <summary>How many rounds each case's timed budget is split into (every case runs once per round).</summary>
    public int Rounds { get; private init; }

    public required string OutputPath { get; init; }

    public required string Root { get; init; }

    public bool Selects(string caseName) =>
        Filters.Count == 0 || Filters.Any(f => caseName.Contains(f, StringComparison.OrdinalIgnoreCase));

    /// <summary>Parses <paramref name="args"/>; returns null and prints why when they are wrong.</summary>
    public static BenchOptions? Parse(string[] args)
    {
        bool quick = false, list = false;
        string? output = null, root = null;
        int? rounds = null;
        var filters = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick": quick = true; break;
                case "--list": list = true; break;
                case "--filter" when i + 1 < args.Length: filters.Add(args[++i]); break;
                case "--out" when i + 1 < args.Length: output = args[++i]; break;
                case "--root" when i + 1 < args.Length: root = args[++i]; break;
                case "--rounds" when i + 1 < args.Length && int.TryParse(args[i + 1], out int n) && n > 0:
                    rounds = n;
                    i++;
                    break;
                default:
                    Console.Error.WriteLine($"Unknown or incomplete option '{args[i]}'.");
                    Console.Error.WriteLine(Usage);
                    return null;
            }
        }

        return new BenchOptions
        {
            Quick = quick,
            List = list,
            Filters = filters,
            Rounds = rounds ?? (quick ? 3 : 10),
            OutputPath = Path.GetFullPath(output ?? DefaultOutputPath()),
            Root = Path.GetFullPath(root ?? Path.Combine(Path.GetTempPath(), "statepersistence-bench")),
        };
    }

    /// <summary><c>bench/results/latest.json</c> under the directory holding the solution, wherever we run from.</summary>
    private static string DefaultOutputPath()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "StatePersistence.sln")))
            {
                return Path.Combine(dir.FullName, "bench", "results", "latest.json");
            }
        }

        return Path.Combine("bench", "results", "latest.json");
    }
}
