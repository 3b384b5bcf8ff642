using System.Diagnostics;
using System.Text;
using StatePersistence.Benchmarks.Harness;
using StatePersistence.Benchmarks.Workload;

namespace StatePersistence.Benchmarks.Cases.Http;

/// <summary>
/// The state server process driven by <c>wrk</c> (Debian's <c>wrk</c>: C, epoll, one thread) over loopback: PUT of
/// the same ~1 KB task documents the library cases save, cycling through their 1,024 ids, or GET of those tasks.
/// Beside the <see cref="HttpSaveCase"/> family, whose load generator is <see cref="HttpClient"/> in this process,
/// this shows what the server does when the client costs little CPU: on 2 cores, 64 client threads take about as much
/// as the server. Full durability: a PUT is answered once its journal record is fsynced.
/// </summary>
internal sealed class WrkLoadCase(string name, int connections, bool put) : IExternalLoadCase
{
    private const string Wrk = "/usr/bin/wrk";
    private ServerHost? _server;
    private TaskDocuments? _documents;
    private string? _script;
    private BenchContext? _context;
    private string? _warmup;

    public BenchCaseInfo Info { get; } = new(name, CaseGroup.StatePersistence, connections)
    {
        Durability = put ? "full" : "n/a",
        Note = (put ? "PUT" : "GET") + $" /api/tasks/{{id}} to the state server process, wrk -t1 -c{connections}",
    };

    public async ValueTask SetupAsync(BenchContext context, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(Wrk))
        {
            throw new InvalidOperationException($"{Wrk} is not installed (apt-get install -y wrk); the wrk cases need it.");
        }

        _documents = context.Documents;
        _server = await ServerHost.StartAsync(Path.Combine(context.Directory, "state"), 8, cancellationToken);
        _script = Path.Combine(context.Directory, put ? "put.lua" : "get.lua");
        await File.WriteAllTextAsync(_script, put ? PutScript(_documents) : GetScript(_documents), cancellationToken);
        if (!put)
        {
            // A GET case reads tasks that exist.
            await Parallel.ForEachAsync(Enumerable.Range(0, TaskDocuments.KeySpace), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
                async (key, ct) => await _server.PutTaskAsync(_documents, key, key, ct));
        }

        _context = context;
        _warmup = WarmToSteadyState(context.Quick, cancellationToken);
    }

    public ValueTask RunOnceAsync(int writer, long sequence, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException($"{Info.Name} is driven by wrk (IExternalLoadCase.RunRound).");

    public ExternalRound RunRound(RoundBudget budget, CancellationToken cancellationToken)
    {
        Run(Seconds(budget.Warmup), cancellationToken);
        return Run(Seconds(budget.Measure), cancellationToken);
    }

    public async ValueTask VerifyAsync(CancellationToken cancellationToken = default)
    {
        await _server!.RequireTaskAsync(_documents!.Ids[0], cancellationToken);
        _context!.RunNote = _warmup;
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    /// <summary>
    /// Drives the fresh server process until its rate stops climbing: two consecutive windows within
    /// <see cref="SteadyTolerance"/> of each other, bounded. The library cases run in this process, already past
    /// tiered compilation; a new server process is not: under load its methods run first unoptimized, then
    /// instrumented for dynamic PGO, and reach their final code only after tens of seconds (measured here: a PUT cost
    /// about 200 µs of CPU in its first 10 s and about 100 µs after 30 s). Without this the rounds would time the JIT.
    /// </summary>
    private string WarmToSteadyState(bool quick, CancellationToken cancellationToken)
    {
        int windowSeconds = quick ? 2 : 3;
        int maxWindows = quick ? 8 : 20;
        double previous = 0;
        for (int window = 1; window <= maxWindows; window++)
        {
            ExternalRound round = Run(windowSeconds, cancellationToken);
            double rate = round.Ops / round.Seconds;
            if (window >= 3 && Math.Abs(rate - previous) <= SteadyTolerance * Math.Max(rate, previous))
            {
                return $"server warmed to a steady rate in {window} windows of {windowSeconds} s ({rate:F0}/s)";
            }

            previous = rate;
        }

        return $"server NOT steady after {maxWindows} warm-up windows of {windowSeconds} s (last {previous:F0}/s)";
    }

    private const double SteadyTolerance = 0.05;

    private ExternalRound Run(int seconds, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(Wrk) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in (string[])["-t1", $"-c{Info.Writers}", $"-d{seconds}s", "--latency", "-s", _script!, _server!.Client.BaseAddress!.ToString()])
        {
            info.ArgumentList.Add(argument);
        }

        using Process wrk = Process.Start(info) ?? throw new InvalidOperationException("wrk did not start.");
        using CancellationTokenRegistration stop = cancellationToken.Register(() => wrk.Kill());
        string output = wrk.StandardOutput.ReadToEnd();
        string errors = wrk.StandardError.ReadToEnd();
        wrk.WaitForExit();
        cancellationToken.ThrowIfCancellationRequested();
        if (wrk.ExitCode != 0)
        {
            throw new InvalidOperationException($"wrk exited with {wrk.ExitCode}: {errors}{output}");
        }

        return WrkSummary.Parse(output);
    }

    private static int Seconds(TimeSpan span) => Math.Max(1, (int)Math.Round(span.TotalSeconds));

    /// <summary>Every request preformatted once in <c>init</c>; <c>request</c> cycles through them.</summary>
    private static string PutScript(TaskDocuments documents)
    {
        var lua = new StringBuilder("local requests = {}\nlocal bodies = {\n");
        for (int document = 0; document < documents.Json.Count; document++)
        {
            lua.Append("  [==[").Append(documents.Json[document]).Append("]==],\n");
        }

        lua.Append("}\nfunction init(args)\n  for i, body in ipairs(bodies) do\n")
            .Append("    local id = string.match(body, '\"id\":\"([^\"]+)\"')\n")
            .Append("    requests[i] = wrk.format(\"PUT\", \"/api/tasks/\" .. id, {[\"Content-Type\"] = \"application/json\"}, body)\n")
            .Append("  end\nend\n")
            .Append(Cycle);
        return lua.ToString();
    }

    private static string GetScript(TaskDocuments documents)
    {
        var lua = new StringBuilder("local requests = {}\nlocal ids = {");
        lua.AppendJoin(",", documents.Ids.Select(id => $"\"{id}\""));
        lua.Append("}\nfunction init(args)\n  for i, id in ipairs(ids) do\n")
            .Append("    requests[i] = wrk.format(\"GET\", \"/api/tasks/\" .. id)\n")
            .Append("  end\nend\n")
            .Append(Cycle);
        return lua.ToString();
    }

    private const string Cycle = "local n = 0\nfunction request()\n  n = n % #requests + 1\n  return requests[n]\nend\n";
}
