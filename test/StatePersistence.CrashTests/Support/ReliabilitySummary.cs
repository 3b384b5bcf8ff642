using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using StatePersistence.Testing.CrashSimulation;

namespace StatePersistence.CrashTests.Support;

/// <summary><c>artifacts/reliability-summary.json</c>: the figures of one run, for CI and for docs/reliability.md.</summary>
internal sealed record ReliabilitySummary(
    int Seed,
    DateTimeOffset StartedAt,
    TimeSpan Duration,
    ReliabilityTotals Totals,
    IReadOnlyDictionary<string, WorkloadFigures> Workloads,
    long FaultTrials,
    IReadOnlyDictionary<string, long> FaultsBy,
    long ChildStarts,
    long AcksChecked,
    IReadOnlyDictionary<string, long> CorruptionTrials,
    IReadOnlyList<string> ViolationSamples)
{
    public const string RelativePath = "artifacts/reliability-summary.json";

    /// <summary>Every violation of the run, in full, when there were any (the summary keeps the first few).</summary>
    public const string ViolationsRelativePath = "artifacts/reliability-violations.txt";

    /// <summary>The repository root: the nearest folder above the test binaries that holds StatePersistence.sln.</summary>
    public static string RepositoryRoot()
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "StatePersistence.sln")))
            {
                return directory.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No StatePersistence.sln above '{AppContext.BaseDirectory}'.");
    }

    /// <summary>Corruption trials by kind of damage, then by outcome (intact, recovered-and-reported, refused, violation).</summary>
    private JsonObject Corruptions()
    {
        var byKind = new JsonObject();
        foreach ((string key, long count) in CorruptionTrials)
        {
            string[] parts = key.Split(':');
            if (byKind[parts[0]] is not JsonObject outcomes)
            {
                outcomes = new JsonObject();
                byKind[parts[0]] = outcomes;
            }

            outcomes[parts[1]] = count;
        }

        return byKind;
    }

    public void Write(IReadOnlyList<string> violations)
    {
        string path = Path.Combine(RepositoryRoot(), RelativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string violationsPath = Path.Combine(RepositoryRoot(), ViolationsRelativePath);
        if (violations.Count > 0)
        {
            File.WriteAllText(violationsPath, string.Join("\n\n", violations) + "\n");
        }
        else
        {
            File.Delete(violationsPath);
        }

        File.WriteAllText(path, ToJson().ToJsonString(new JsonSerializerOptions
        {
            WriteIndented = true,

            // Violation messages quote JSON; keep them readable rather than \u-escaped.
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        }) + "\n");
    }

    private JsonObject ToJson()
    {
        var models = new JsonObject();
        foreach (CrashModel model in Enum.GetValues<CrashModel>())
        {
            models[model.ToString()] = Workloads.Values.Sum(w => w.States.GetValueOrDefault(model));
        }

        var workloads = new JsonArray();
        foreach ((string name, WorkloadFigures figures) in Workloads)
        {
            var states = new JsonObject();
            foreach ((CrashModel model, long count) in figures.States)
            {
                states[model.ToString()] = count;
            }

            workloads.Add(new JsonObject
            {
                ["name"] = name,
                ["kind"] = figures.Kind,
                ["operations"] = figures.Operations,
                ["crash_points"] = figures.CrashPoints,
                ["states"] = states,
                ["violations"] = figures.Violations,
            });
        }

        var faults = new JsonObject();
        foreach ((string key, long count) in FaultsBy)
        {
            faults[key] = count;
        }

        return new JsonObject
        {
            ["crash_states_checked"] = Totals.CrashStatesChecked,
            ["kills"] = Totals.Kills,
            ["faults_injected"] = Totals.FaultsInjected,
            ["violations"] = Totals.Violations,
            ["thresholds"] = new JsonObject
            {
                ["crash_states_checked"] = ReliabilityLedger.RequiredCrashStates,
                ["kills"] = ReliabilityLedger.RequiredKills,
                ["faults_injected"] = ReliabilityLedger.RequiredFaults,
                ["violations"] = 0,
            },
            ["seed"] = Seed,
            ["started_at"] = StartedAt.ToString("O", CultureInfo.InvariantCulture),
            ["duration_seconds"] = Math.Round(Duration.TotalSeconds, 1),
            ["machine"] = new JsonObject
            {
                ["processors"] = Environment.ProcessorCount,
                ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
                ["runtime"] = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
            },
            ["crash_states_by_model"] = models,
            ["crash_points"] = Workloads.Values.Sum(w => w.CrashPoints),
            ["workloads"] = workloads,
            ["fault_trials"] = FaultTrials,
            ["faults_by"] = faults,
            ["kill_child_starts"] = ChildStarts,
            ["kill_acks_checked"] = AcksChecked,
            ["corruption_trials"] = CorruptionTrials.Values.Sum(),
            ["corruption_trials_by"] = Corruptions(),
            ["violation_samples"] = new JsonArray([.. ViolationSamples.Select(v => (JsonNode?)JsonValue.Create(v))]),
        };
    }
}
